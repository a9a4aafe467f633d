#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "events/api/webhook_sink.hpp"
#include "events/clock.hpp"
#include "events/code_host.hpp"
#include "events/github/pull_request_comments.hpp"
#include "events/github/webhook_decision.hpp"

namespace aetherium {

/// How to reach the GitHub REST API and how hard to try.
struct github_options {
  /// Token sent as `Authorization: Bearer`; the caller reads it from the secrets provider.
  /// Never logged, never part of an error detail.
  std::string token;
  /// API root without a trailing slash; GitHub Enterprise Server: "https://HOST/api/v3".
  std::string api_base = "https://api.github.com";
  std::string user_agent = "aetherium";
  /// Attempts per request for 5xx answers, transport failures and rate limits (>= 1).
  int max_attempts = 5;
  /// Backoff before retry n (n >= 1) is min(initial_backoff * 2^(n-1), max_backoff).
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  /// A rate limit (403/429 with `Retry-After`, or `x-ratelimit-remaining: 0` and
  /// `x-ratelimit-reset`) that lifts within this time is waited out; a longer one fails
  /// with errc::unavailable whose detail says when to retry.
  std::chrono::milliseconds max_rate_limit_wait{std::chrono::seconds{60}};
  std::chrono::milliseconds request_timeout{std::chrono::seconds{30}};
  /// Time source for `x-ratelimit-reset`; null means the system clock.
  std::shared_ptr<clock> time_source;
};

/// A code_host on GitHub (or GitHub Enterprise) through the REST API: git data (blobs →
/// tree → commit → ref) and pull requests. `pull_request_spec::repo` is "owner/name".
/// Calls block the calling thread (including backoff and rate-limit waits): call it from a
/// thread that may block. Errors as the port says; 401/403 → forbidden, 404 → not_found,
/// 409/422 on a ref → conflict, 5xx and transport failures after the last attempt and
/// long rate limits → unavailable. Thread-safe (requests are serialised per instance).
std::shared_ptr<code_host> make_github_code_host(github_options options);

/// Comments on GitHub pull requests, with the same client behaviour as the code host.
std::shared_ptr<github::pull_request_comments> make_github_pull_request_comments(github_options options);

/// Starts a follow-up task for a `/aetherium run` comment and calls `done` once, on any
/// thread. `done` with not_found means "that pull request was not opened by Aetherium":
/// the delivery is then acknowledged and ignored. Any other error fails the delivery (and
/// a redelivery of it will be handled again). Must not block.
using github_follow_up_handler =
    std::function<void(github::follow_up, std::function<void(result<void>)> done)>;

/// How the webhook sink checks and routes deliveries.
struct github_webhook_options {
  std::string secret;                   ///< The webhook secret; empty: every delivery is unavailable.
  github_follow_up_handler on_follow_up; ///< Required for follow-ups to happen.
  /// Optional: told why a delivery was acknowledged without effect (ignored, duplicate).
  std::function<void(const std::string& delivery_id, const std::string& message)> log;
  /// How many recent X-GitHub-Delivery ids are remembered for dedupe (in memory: lost on
  /// restart, oldest forgotten first).
  std::size_t dedupe_capacity = 10000;
};

/// The sink behind POST /v1/webhooks/github: verifies X-Hub-Signature-256 (constant-time)
/// before parsing; answers `ping`; drops repeated X-GitHub-Delivery ids; hands a
/// follow-up to `on_follow_up`; acknowledges and logs everything else.
/// Errors: unauthorized (missing/bad signature), invalid_argument (no X-GitHub-Event,
/// unparsable JSON), unavailable (no secret or no handler), and the handler's errors.
std::shared_ptr<api::webhook_sink> make_github_webhook_sink(github_webhook_options options);

} // namespace aetherium
