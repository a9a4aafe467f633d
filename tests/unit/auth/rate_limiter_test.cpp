#include <gtest/gtest.h>

#include "events/api/rate_limiter.hpp"

namespace aetherium::testing {
namespace {

TEST(token_bucket, a_full_bucket_admits_a_burst_then_refuses_with_retry_after) {
  auto clock = std::make_shared<manual_clock>();
  api::token_bucket_limiter limiter{2, 4, clock};
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(limiter.admit("k").admitted) << i;
  auto refused = limiter.admit("k");
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_TRUE(limiter.admit("other").admitted);
}

TEST(token_bucket, tokens_refill_at_the_rate_up_to_the_burst) {
  auto clock = std::make_shared<manual_clock>();
  api::token_bucket_limiter limiter{0.1, 1, clock}; // one token per 10 s
  EXPECT_TRUE(limiter.admit("k").admitted);
  EXPECT_EQ(limiter.admit("k").retry_after_seconds, 10);
  clock->advance(4'000'000);
  EXPECT_EQ(limiter.admit("k").retry_after_seconds, 6);
  clock->advance(6'000'000);
  EXPECT_TRUE(limiter.admit("k").admitted);
  clock->advance(1'000'000'000);
  EXPECT_TRUE(limiter.admit("k").admitted);
  EXPECT_FALSE(limiter.admit("k").admitted) << "the bucket never holds more than the burst";
}

TEST(token_bucket, a_rate_of_zero_turns_limiting_off) {
  api::token_bucket_limiter limiter{0, 1, std::make_shared<manual_clock>()};
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(limiter.admit("k").admitted);
}

TEST(token_bucket, many_keys_have_their_own_buckets) {
  auto clock = std::make_shared<manual_clock>();
  api::token_bucket_limiter limiter{1, 1, clock};
  for (int i = 0; i < 100000; ++i)
    EXPECT_TRUE(limiter.admit("key-" + std::to_string(i)).admitted);
  EXPECT_FALSE(limiter.admit("key-99999").admitted);
}

} // namespace
} // namespace aetherium::testing
