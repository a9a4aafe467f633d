#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::notifications {

using subscription_id = strong_id<struct subscription_id_tag>;

/// Input limits of a subscription; docs/openapi.yaml states the same numbers.
namespace limits {
inline constexpr std::size_t url_chars = 2048;
inline constexpr std::size_t secret_bytes = 256;
inline constexpr std::size_t filters = 32;
inline constexpr std::size_t filter_chars = 128;
inline constexpr std::size_t dead_letters_kept = 1000; ///< Older ones stay in the log only.
} // namespace limits

// Events of a subscription stream ("subscription-<id>").

/// The secret is not in the event: it is kept by the subscription_secrets port.
struct subscription_created {
  static constexpr const char* type_name = "subscription.created";
  static constexpr int schema_version = 1;
  subscription_id id;
  tenant_id tenant;
  std::string url;
  std::vector<std::string> events; ///< Filters: "task.completed", "task.*" or "*".
  std::int64_t at_us = 0;
};
struct subscription_deleted {
  static constexpr const char* type_name = "subscription.deleted";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};
/// An event the receiver did not take after every attempt.
struct subscription_delivery_dead_lettered {
  static constexpr const char* type_name = "subscription.delivery_dead_lettered";
  static constexpr int schema_version = 1;
  std::string event_id;
  std::string event_type;
  std::int64_t position = 0;  ///< The event's log position.
  std::uint32_t attempts = 0;
  int last_status = 0;        ///< HTTP status of the last attempt; 0 when none came back.
  std::string last_error;
  std::int64_t at_us = 0;
};

using subscription_event =
  std::variant<subscription_created, subscription_deleted, subscription_delivery_dead_lettered>;

/// The wire name of any subscription event.
const char* type_name(const subscription_event& e) noexcept;

struct create_subscription {
  subscription_id id;
  tenant_id tenant;
  std::string url;
  std::vector<std::string> events;
  std::int64_t now_us = 0;
};
struct delete_subscription {
  std::int64_t now_us = 0;
};
struct record_dead_letter {
  subscription_delivery_dead_lettered letter;
};

using subscription_command = std::variant<create_subscription, delete_subscription, record_dead_letter>;

/// A subscription as its events made it.
struct subscription_state {
  bool exists = false;
  bool deleted = false;
  subscription_id id;
  tenant_id tenant;
  std::string url;
  std::vector<std::string> events;
  std::int64_t created_at_us = 0;
  std::int64_t created_position = 0; ///< Log position of subscription.created (set by stores).
  std::int64_t version = 0;          ///< Stream version (set by stores).
  std::vector<subscription_delivery_dead_lettered> dead_letters; ///< Newest last, bounded.
};

/// The subscription aggregate: pure decide and evolve.
struct subscription {
  using state = subscription_state;
  using command = subscription_command;
  using event = subscription_event;

  /// "subscription-<id>".
  static stream_id stream_of(const subscription_id& id) { return stream_id{"subscription-" + id.str()}; }

  /// Errors: conflict (created twice), not_found (deleting or dead-lettering for none, or a
  /// deleted one: deleting twice is not_found), invalid_argument naming the field
  /// ("url", "events"). Dead letters after deletion record nothing.
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// The parts of an http(s) URL the guard needs.
struct parsed_url {
  std::string scheme; ///< "http" or "https".
  std::string host;   ///< Without brackets for an IPv6 literal.
  std::uint16_t port = 0;
};

/// Parses `url`: scheme http or https, a host, an optional port, no user info, printable
/// ASCII without spaces, at most limits::url_chars. Errors: invalid_argument, field "url".
result<parsed_url> parse_webhook_url(std::string_view url);

/// Non-empty, at most limits::filters entries, each "*", "<type>" or "<prefix>.*" of
/// [a-z0-9._] characters. Errors: invalid_argument, field "events".
result<void> validate_filters(const std::vector<std::string>& filters);

/// 1 to limits::secret_bytes bytes. Errors: invalid_argument, field "secret".
result<void> validate_secret(std::string_view secret);

} // namespace aetherium::notifications
