#include "adapters/github/retry_policy.hpp"

#include <algorithm>
#include <cstdlib>

namespace aetherium::github {

namespace {

using std::chrono::milliseconds;

/// A non-negative integer header value, or nothing when absent or malformed.
std::optional<std::int64_t> number_of(const std::optional<std::string>& value) {
  if (!value || value->empty())
    return std::nullopt;
  char* end = nullptr;
  long long n = std::strtoll(value->c_str(), &end, 10);
  if (end == value->c_str() || *end != '\0' || n < 0)
    return std::nullopt;
  return static_cast<std::int64_t>(n);
}

/// How long until the rate limit lifts, if the headers say; and a text for the detail.
std::optional<milliseconds> rate_limit_wait(const attempt_outcome& o, std::int64_t now_ms, std::string& when) {
  if (auto s = number_of(o.retry_after)) {
    when = "retry after " + std::to_string(*s) + " s (Retry-After)";
    return milliseconds{*s * 1000};
  }
  if (auto reset = number_of(o.ratelimit_reset)) {
    auto wait = std::max<std::int64_t>(0, *reset * 1000 - now_ms);
    when = "retry after " + std::to_string((wait + 999) / 1000) + " s (x-ratelimit-reset " + std::to_string(*reset) + ")";
    return milliseconds{wait};
  }
  return std::nullopt;
}

} // namespace

bool is_rate_limited(const attempt_outcome& o) {
  if (o.status == 429)
    return true;
  if (o.status != 403)
    return false;
  return o.retry_after.has_value() || (o.ratelimit_remaining && *o.ratelimit_remaining == "0");
}

milliseconds backoff(const retry_settings& s, int attempt) {
  auto wait = s.initial_backoff;
  for (int i = 1; i < attempt && wait < s.max_backoff; ++i)
    wait *= 2;
  return std::min(wait, s.max_backoff);
}

retry_step next_step(const retry_settings& s, const attempt_outcome& o, int attempt, std::int64_t now_ms) {
  bool last = attempt >= s.max_attempts;
  if (is_rate_limited(o)) {
    std::string when;
    auto wait = rate_limit_wait(o, now_ms, when);
    if (!wait) {
      wait = backoff(s, attempt);
      when = "retry after " + std::to_string((wait->count() + 999) / 1000) + " s";
    }
    if (*wait > s.max_rate_limit_wait || last)
      return {retry_step::kind::give_up, milliseconds{0}, "GitHub rate limit hit (HTTP " + std::to_string(o.status) + "); " + when};
    return {retry_step::kind::retry, *wait, {}};
  }
  if (o.status != 0 && o.status < 500)
    return {retry_step::kind::accept, milliseconds{0}, {}};
  auto what = o.status == 0 ? "transport failure: " + o.transport_error : "HTTP " + std::to_string(o.status);
  if (last)
    return {retry_step::kind::give_up, milliseconds{0},
            "GitHub unavailable after " + std::to_string(attempt) + " attempts (" + what + ")"};
  auto wait = backoff(s, attempt);
  if (auto hinted = number_of(o.retry_after); hinted && milliseconds{*hinted * 1000} <= s.max_rate_limit_wait)
    wait = std::max(wait, milliseconds{*hinted * 1000});
  return {retry_step::kind::retry, wait, {}};
}

} // namespace aetherium::github
