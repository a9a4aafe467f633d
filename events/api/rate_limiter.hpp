#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/clock.hpp"

namespace aetherium::api {

/// The answer of a rate limiter.
struct admission {
  bool admitted = true;
  std::int64_t retry_after_seconds = 0; ///< When refused: whole seconds until a token is there (>= 1).
};

/// Token buckets, one per key (an API key id, a JWT subject): each holds at most `burst`
/// tokens, refills at `rate_per_second`, and every admitted request takes one token.
/// Thread-safe; time comes from the injected clock. Buckets that have refilled completely
/// are forgotten once many keys were seen, so memory stays bounded by the active keys.
class token_bucket_limiter {
public:
  /// A `rate_per_second` of zero or less turns limiting off.
  token_bucket_limiter(double rate_per_second, double burst, std::shared_ptr<clock> clock);

  /// Takes a token of `key`'s bucket, or says how long to wait for one.
  admission admit(std::string_view key);

private:
  struct bucket {
    double tokens = 0;
    std::int64_t updated_us = 0;
  };
  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, bucket> buckets;
    std::size_t cleanup_at = 4096; ///< Size at which full buckets are next forgotten.
  };

  void forget_full_buckets(shard& s, std::int64_t now_us);

  double rate_;
  double burst_;
  std::shared_ptr<clock> clock_;
  std::array<shard, 16> shards_;
};

} // namespace aetherium::api
