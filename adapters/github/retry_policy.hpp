#pragma once

// Internal to adapters/github: when to retry a GitHub REST call. Pure, so it is unit-tested.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace aetherium::github {

/// The retry knobs of github_options.
struct retry_settings {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds max_rate_limit_wait{60000};
};

/// What one attempt produced: an HTTP status (0 when the transport failed) and the
/// headers that matter for retrying, as sent.
struct attempt_outcome {
  long status = 0;
  std::optional<std::string> retry_after;          ///< Retry-After (seconds).
  std::optional<std::string> ratelimit_remaining;  ///< x-ratelimit-remaining.
  std::optional<std::string> ratelimit_reset;      ///< x-ratelimit-reset (epoch seconds).
  std::string transport_error;                     ///< Set when status is 0.
};

/// What to do next.
struct retry_step {
  enum class kind { accept, retry, give_up };
  kind what = kind::accept;
  std::chrono::milliseconds wait{0}; ///< For retry: how long to wait first.
  std::string detail;                ///< For give_up: why, and when to retry if known.
};

/// True for a 403 or 429 that is a rate limit (primary or secondary), not a refusal.
bool is_rate_limited(const attempt_outcome& outcome);

/// The backoff before retry number `attempt` (1-based): initial * 2^(attempt-1), capped.
std::chrono::milliseconds backoff(const retry_settings& settings, int attempt);

/// Decides after attempt number `attempt` (1-based) at `now_ms` (Unix epoch ms): accept
/// the answer (any status that is neither 5xx nor a rate limit nor a transport failure),
/// retry after a wait (5xx/transport: exponential backoff; rate limit: until
/// Retry-After or x-ratelimit-reset), or give up (attempts exhausted, or the rate limit
/// lifts later than max_rate_limit_wait).
retry_step next_step(const retry_settings& settings, const attempt_outcome& outcome, int attempt,
                     std::int64_t now_ms);

} // namespace aetherium::github
