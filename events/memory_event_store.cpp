#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "events/append_planner.hpp"
#include "events/clock.hpp"
#include "events/event_store.hpp"

namespace aetherium {

namespace {

class memory_event_store;

class memory_subscription : public subscription {
public:
  /// Keeps the store alive: a subscription may outlive the last other owner of its store.
  memory_subscription(std::shared_ptr<memory_event_store> store, std::int64_t after,
                      event_store::event_handler handler);
  ~memory_subscription() override { stop(); }
  void stop() override;

private:
  void run();

  std::shared_ptr<memory_event_store> store_;
  std::int64_t after_;
  event_store::event_handler handler_;
  bool stopping_ = false;
  std::thread thread_;
};

class memory_event_store : public event_store, public std::enable_shared_from_this<memory_event_store> {
public:
  explicit memory_event_store(std::shared_ptr<clock> clk) : clock_(std::move(clk)) {}

  void append_async(append_request request, append_callback done) override {
    done(append_now(std::move(request)));
  }

  result<std::vector<recorded_event>> read_stream(const stream_id& stream,
                                                  std::int64_t after_version) override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<recorded_event> out;
    auto it = streams_.find(stream.str());
    if (it == streams_.end())
      return out;
    for (auto pos : it->second)
      if (log_[pos - 1].stream_version > after_version)
        out.push_back(log_[pos - 1]);
    return out;
  }

  result<std::vector<recorded_event>> read_all(std::int64_t after_position,
                                               std::size_t max_count) override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<recorded_event> out;
    for (auto pos = std::max<std::int64_t>(after_position, 0);
         pos < static_cast<std::int64_t>(log_.size()) && out.size() < max_count; ++pos)
      out.push_back(log_[pos]);
    return out;
  }

  result<std::int64_t> head_position() override {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<std::int64_t>(log_.size());
  }

  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler handler) override {
    return std::make_unique<memory_subscription>(shared_from_this(), after, std::move(handler));
  }

  /// Blocks until the log holds more than `after` events or `stopping` becomes true.
  void wait_beyond(std::int64_t after, const bool& stopping) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return stopping || static_cast<std::int64_t>(log_.size()) > after; });
  }

  void wake_all() {
    std::lock_guard<std::mutex> guard{mtx_};
    cv_.notify_all();
  }

  std::mutex& mutex() { return mtx_; }

private:
  result<append_result> append_now(append_request request) {
    auto normalized = normalize(std::move(request));
    if (!normalized)
      return normalized.err();
    auto& req = *normalized;
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::optional<stored_event_ref>> existing;
    for (auto& e : req.events) {
      auto it = ids_.find(e.id.str());
      if (it == ids_.end()) {
        existing.emplace_back();
      } else {
        auto& r = log_[it->second - 1];
        existing.emplace_back(stored_event_ref{r.stream, r.stream_version, r.position});
      }
    }
    auto& positions = streams_[req.stream.str()];
    std::int64_t current = positions.empty() ? 0 : log_[positions.back() - 1].stream_version;
    auto plan = plan_append(req, current, existing);
    if (!plan)
      return plan.err();
    if (plan->duplicate)
      return plan->existing;
    auto first = static_cast<std::int64_t>(log_.size()) + 1;
    auto sealed = seal(req, *plan, first, log_.empty() ? "" : log_.back().hash, clock_->now_us());
    for (auto& r : sealed) {
      ids_[r.id.str()] = r.position;
      positions.push_back(r.position);
      log_.push_back(std::move(r));
    }
    cv_.notify_all();
    return append_result{first, static_cast<std::int64_t>(log_.size()),
                         log_.back().stream_version, false};
  }

  std::shared_ptr<clock> clock_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<recorded_event> log_;
  std::unordered_map<std::string, std::vector<std::int64_t>> streams_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

memory_subscription::memory_subscription(std::shared_ptr<memory_event_store> store, std::int64_t after,
                                         event_store::event_handler handler)
  : store_(std::move(store)), after_(after), handler_(std::move(handler)) {
  thread_ = std::thread{[this] { run(); }};
}

void memory_subscription::stop() {
  {
    std::lock_guard<std::mutex> guard{store_->mutex()};
    stopping_ = true;
  }
  store_->wake_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void memory_subscription::run() {
  for (;;) {
    store_->wait_beyond(after_, stopping_);
    {
      std::lock_guard<std::mutex> guard{store_->mutex()};
      if (stopping_)
        return;
    }
    auto batch = store_->read_all(after_, 1024);
    for (auto& e : *batch) {
      handler_(e);
      after_ = e.position;
    }
  }
}

} // namespace

std::shared_ptr<event_store> make_memory_event_store(std::shared_ptr<clock> clk) {
  return std::make_shared<memory_event_store>(std::move(clk));
}

} // namespace aetherium
