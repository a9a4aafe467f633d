#include "events/api/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace aetherium::api {

token_bucket_limiter::token_bucket_limiter(double rate_per_second, double burst, std::shared_ptr<clock> clock)
  : rate_(rate_per_second), burst_(std::max(burst, 1.0)), clock_(std::move(clock)) {}

admission token_bucket_limiter::admit(std::string_view key) {
  if (rate_ <= 0)
    return {};
  auto now = clock_->now_us();
  auto& s = shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  std::lock_guard<std::mutex> guard{s.mtx};
  auto it = s.buckets.find(std::string{key});
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= s.cleanup_at) {
      forget_full_buckets(s, now);
      s.cleanup_at = std::max<std::size_t>(4096, 2 * s.buckets.size());
    }
    it = s.buckets.emplace(std::string{key}, bucket{burst_, now}).first;
  }
  auto& b = it->second;
  auto elapsed = static_cast<double>(std::max<std::int64_t>(now - b.updated_us, 0)) / 1e6;
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated_us = std::max(now, b.updated_us);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  auto wait = std::ceil((1.0 - b.tokens) / rate_);
  return {false, std::max<std::int64_t>(1, static_cast<std::int64_t>(wait))};
}

void token_bucket_limiter::forget_full_buckets(shard& s, std::int64_t now_us) {
  for (auto it = s.buckets.begin(); it != s.buckets.end();) {
    auto elapsed = static_cast<double>(now_us - it->second.updated_us) / 1e6;
    if (it->second.tokens + elapsed * rate_ >= burst_)
      it = s.buckets.erase(it);
    else
      ++it;
  }
}

} // namespace aetherium::api
