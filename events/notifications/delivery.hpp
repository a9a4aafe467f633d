#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event.hpp"
#include "events/notifications/subscription.hpp"

namespace aetherium::notifications {

/// Header names of an outgoing notification.
namespace headers {
inline constexpr const char* signature = "X-Aetherium-Signature-256";
inline constexpr const char* event = "X-Aetherium-Event";
inline constexpr const char* delivery = "X-Aetherium-Delivery";
} // namespace headers

/// Whether an event of `type` matches one of `filters`: "*" matches every type,
/// "task.*" every type starting with "task.", anything else only itself.
bool filter_matches(const std::vector<std::string>& filters, std::string_view type) noexcept;

/// Whether `e` goes to subscription `s`: `s` is live, `e` belongs to the subscription's
/// tenant (its metadata's tenant, as in the audit feed), matches its filters, and is not
/// an event of a subscription stream (notifying about dead letters could loop forever).
bool should_deliver(const subscription_state& s, const recorded_event& e) noexcept;

/// "sha256=" and the lowercase hex HMAC-SHA256 of `body` under `secret`.
std::string signature_header(std::string_view secret, std::string_view body);

/// The idempotency id of delivering event `event` to subscription `sub`: the same on every
/// attempt and after restarts, so receivers can drop repeats.
std::string delivery_id(const subscription_id& sub, const event_id& event);

/// The request delivering `e` to `s`: the body is the event envelope (the one the Kafka
/// relay publishes, event_envelope_json) and the headers carry type, signature and id.
struct outgoing_notification {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
outgoing_notification build_notification(const subscription_state& s, std::string_view secret,
                                         const recorded_event& e);

/// How often and how long to retry a delivery.
struct retry_policy {
  std::uint32_t max_attempts = 5;                 ///< Then the event is dead-lettered.
  std::chrono::milliseconds first_delay{1000};    ///< Before the second attempt.
  std::chrono::milliseconds max_delay{60000};     ///< Delays double up to this.
};

/// The wait before attempt `attempt` (2 for the first retry): first_delay doubled for each
/// attempt after the second, capped at max_delay; zero for attempt 1.
std::chrono::milliseconds delay_before(const retry_policy& p, std::uint32_t attempt) noexcept;

/// Whether an HTTP status counts as delivered (2xx).
inline bool delivered(int status) noexcept { return status >= 200 && status < 300; }

} // namespace aetherium::notifications
