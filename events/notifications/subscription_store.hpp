#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "events/event_store.hpp"
#include "events/notifications/subscription.hpp"
#include "events/result.hpp"

namespace aetherium::notifications {

/// Where subscriptions live: the events of `subscription-<id>` streams and the states
/// they fold into (subscription::evolve), answered from memory. Thread-safe.
class subscription_store {
public:
  virtual ~subscription_store() = default;

  /// Appends `events` to the stream of `id` if it is at version `expected` (0: new), then
  /// folds them into what load/all answer; durable on return. `principal` goes into the
  /// events' metadata, `tenant` too. Errors: conflict (the stream moved on), unavailable,
  /// invalid_argument.
  virtual result<void> record(const subscription_id& id, const tenant_id& tenant, const std::string& principal,
                              const std::vector<subscription_event>& events, std::int64_t expected) = 0;

  /// The state of `id`: exists = false when there is none. Errors: unavailable.
  virtual result<subscription_state> load(const subscription_id& id) = 0;

  /// Every subscription ever created (deleted ones included), oldest first.
  virtual std::vector<subscription_state> all() = 0;
};

/// Subscriptions in memory, for tests: created_position counts the events recorded.
std::shared_ptr<subscription_store> make_memory_subscription_store();

} // namespace aetherium::notifications
