#pragma once
// Send and receive times of one leg's events, taken with one steady clock in one process.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace aetherium::bench {

/// Times of `size` numbered events: when the writer started (`sent`), when its write call
/// returned (`written`) and when the consumer's handler first saw the event (`received`).
/// Thread-safe: the handler runs on a thread the consumer owns.
class latency_probe {
public:
  using clock = std::chrono::steady_clock;

  explicit latency_probe(std::size_t size) : sent_(size), written_(size), received_(size), seen_(size, false) {}

  std::size_t size() const { return seen_.size(); }

  void sent(std::size_t k) {
    auto now = clock::now();
    std::lock_guard<std::mutex> lock{mtx_};
    sent_[k] = now;
  }

  void written(std::size_t k) {
    auto now = clock::now();
    std::lock_guard<std::mutex> lock{mtx_};
    written_[k] = now;
  }

  /// Records the first delivery of event `k`; repeats (at-least-once) and numbers out of
  /// range are ignored.
  void received(std::size_t k) {
    auto now = clock::now();
    std::lock_guard<std::mutex> lock{mtx_};
    if (k >= seen_.size() || seen_[k])
      return;
    received_[k] = now;
    seen_[k] = true;
    changed_.notify_all();
  }

  /// Waits until event `k` was received; false after `timeout`.
  bool wait_received(std::size_t k, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return changed_.wait_for(lock, timeout, [&] { return seen_[k]; });
  }

  /// Milliseconds from sent to received of events [from, size()), in event order.
  std::vector<double> delivery_ms(std::size_t from) const { return spans(from, received_); }

  /// Milliseconds from sent to written of events [from, size()).
  std::vector<double> write_ms(std::size_t from) const { return spans(from, written_); }

private:
  std::vector<double> spans(std::size_t from, const std::vector<clock::time_point>& to) const {
    std::lock_guard<std::mutex> lock{mtx_};
    std::vector<double> out;
    for (std::size_t k = from; k < seen_.size(); ++k)
      if (seen_[k])
        out.push_back(std::chrono::duration<double, std::milli>(to[k] - sent_[k]).count());
    return out;
  }

  mutable std::mutex mtx_;
  std::condition_variable changed_;
  std::vector<clock::time_point> sent_, written_, received_;
  std::vector<bool> seen_;
};

/// p50, p99 and max of a sample, nearest rank.
struct latency_summary {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t count = 0;
};

inline latency_summary summarize(std::vector<double> ms) {
  latency_summary s;
  s.count = ms.size();
  if (ms.empty())
    return s;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::min(ms.size(), std::max<std::size_t>(r, 1)) - 1];
  };
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.max = ms.back();
  return s;
}

/// Prints one row: the figures and, when `floor` is given, their ratios to it.
inline void print_row(const std::string& name, const latency_summary& s, const latency_summary* floor) {
  std::printf("%-44s %5zu %8.2f %8.2f %8.2f", name.c_str(), s.count, s.p50, s.p99, s.max);
  if (floor && floor->p50 > 0 && floor->p99 > 0)
    std::printf("   %5.1fx  %5.1fx", s.p50 / floor->p50, s.p99 / floor->p99);
  std::printf("\n");
  std::fflush(stdout);
}

} // namespace aetherium::bench
