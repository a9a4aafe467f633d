// When the GitHub client retries, waits, or gives up.
#include <gtest/gtest.h>

#include "adapters/github/retry_policy.hpp"

using namespace aetherium::github;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t now_ms = 1'700'000'000'000;

retry_settings settings() { return {4, milliseconds{100}, milliseconds{1000}, milliseconds{60000}}; }

attempt_outcome status(long s) {
  attempt_outcome o;
  o.status = s;
  return o;
}

TEST(retry_policy, backoff_doubles_up_to_its_cap) {
  auto s = settings();
  EXPECT_EQ(backoff(s, 1), milliseconds{100});
  EXPECT_EQ(backoff(s, 2), milliseconds{200});
  EXPECT_EQ(backoff(s, 3), milliseconds{400});
  EXPECT_EQ(backoff(s, 4), milliseconds{800});
  EXPECT_EQ(backoff(s, 5), milliseconds{1000});
  EXPECT_EQ(backoff(s, 40), milliseconds{1000});
}

TEST(retry_policy, answers_that_are_not_5xx_or_rate_limits_are_accepted) {
  for (long s : {200L, 201L, 400L, 401L, 403L, 404L, 409L, 422L})
    EXPECT_EQ(next_step(settings(), status(s), 1, now_ms).what, retry_step::kind::accept) << s;
  auto plenty = status(403);
  plenty.ratelimit_remaining = "4999";
  plenty.ratelimit_reset = std::to_string(now_ms / 1000 + 60);
  EXPECT_EQ(next_step(settings(), plenty, 1, now_ms).what, retry_step::kind::accept);
}

TEST(retry_policy, server_errors_and_transport_failures_are_retried_then_given_up) {
  for (long s : {0L, 500L, 502L, 503L, 504L}) {
    auto step = next_step(settings(), status(s), 2, now_ms);
    EXPECT_EQ(step.what, retry_step::kind::retry) << s;
    EXPECT_EQ(step.wait, milliseconds{200});
    auto last = next_step(settings(), status(s), 4, now_ms);
    EXPECT_EQ(last.what, retry_step::kind::give_up) << s;
    EXPECT_NE(last.detail.find("after 4 attempts"), std::string::npos) << last.detail;
  }
}

TEST(retry_policy, an_exhausted_primary_rate_limit_waits_until_the_reset) {
  auto o = status(403);
  o.ratelimit_remaining = "0";
  o.ratelimit_reset = std::to_string(now_ms / 1000 + 30);
  auto step = next_step(settings(), o, 1, now_ms);
  EXPECT_EQ(step.what, retry_step::kind::retry);
  EXPECT_EQ(step.wait, milliseconds{30000});
}

TEST(retry_policy, a_rate_limit_longer_than_allowed_gives_up_saying_when_to_retry) {
  auto s = settings();
  s.max_rate_limit_wait = milliseconds{10000};
  auto o = status(403);
  o.ratelimit_remaining = "0";
  o.ratelimit_reset = std::to_string(now_ms / 1000 + 30);
  auto step = next_step(s, o, 1, now_ms);
  EXPECT_EQ(step.what, retry_step::kind::give_up);
  EXPECT_NE(step.detail.find("retry after 30 s"), std::string::npos) << step.detail;
  EXPECT_NE(step.detail.find("x-ratelimit-reset " + std::to_string(now_ms / 1000 + 30)), std::string::npos);
}

TEST(retry_policy, retry_after_wins_for_secondary_rate_limits) {
  for (long code : {403L, 429L}) {
    auto o = status(code);
    o.retry_after = "5";
    auto step = next_step(settings(), o, 1, now_ms);
    EXPECT_EQ(step.what, retry_step::kind::retry) << code;
    EXPECT_EQ(step.wait, milliseconds{5000});
  }
}

TEST(retry_policy, a_429_without_hints_backs_off_and_a_reset_in_the_past_retries_at_once) {
  auto bare = next_step(settings(), status(429), 3, now_ms);
  EXPECT_EQ(bare.what, retry_step::kind::retry);
  EXPECT_EQ(bare.wait, milliseconds{400});
  auto o = status(403);
  o.ratelimit_remaining = "0";
  o.ratelimit_reset = std::to_string(now_ms / 1000 - 5);
  auto past = next_step(settings(), o, 1, now_ms);
  EXPECT_EQ(past.what, retry_step::kind::retry);
  EXPECT_EQ(past.wait, milliseconds{0});
}

TEST(retry_policy, a_rate_limit_on_the_last_attempt_gives_up) {
  auto o = status(429);
  o.retry_after = "1";
  EXPECT_EQ(next_step(settings(), o, 4, now_ms).what, retry_step::kind::give_up);
}

} // namespace
