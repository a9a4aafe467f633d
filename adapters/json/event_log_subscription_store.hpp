#pragma once

#include <memory>

#include "events/clock.hpp"
#include "events/event_store.hpp"
#include "events/notifications/subscription_store.hpp"

namespace aetherium {

/// Subscriptions as events of `subscription-<id>` streams (`subscription.created`,
/// `subscription.deleted`, `subscription.delivery_dead_lettered`, all schema 1), JSON
/// payloads. Like the event-log API key store: record() returns once its events are
/// durable and folded in; load() and all() answer from memory, filled from the whole log
/// before the factory returns and then kept following it, so subscriptions made by other
/// servers on the same log appear shortly after they commit.
///
/// `store` and `ids` (event ids) must not be null.
std::shared_ptr<notifications::subscription_store>
make_event_log_subscription_store(std::shared_ptr<event_store> store, std::shared_ptr<id_generator> ids);

} // namespace aetherium
