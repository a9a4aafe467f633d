#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "events/api/metrics.hpp"
#include "events/checkpoint_store.hpp"
#include "events/event_store.hpp"
#include "events/notifications/delivery.hpp"
#include "events/notifications/subscription_service.hpp"

namespace aetherium::notifications {

/// What the dispatcher uses; none may be null except `metrics`.
struct dispatcher_ports {
  std::shared_ptr<event_store> log;
  std::shared_ptr<checkpoint_store> checkpoints;
  std::shared_ptr<subscription_store> subscriptions;
  std::shared_ptr<subscription_secrets> secrets;
  std::shared_ptr<webhook_sender> sender;
  std::shared_ptr<subscription_service> service; ///< Records dead letters.
  std::shared_ptr<api::metrics_registry> metrics;
};

struct dispatcher_options {
  retry_policy retry;
  std::chrono::milliseconds idle_poll{500};   ///< Longest wait for new events without a wake-up.
  std::size_t page = 200;                     ///< Events read at once.
  std::string checkpoint_prefix = "notify-";  ///< Checkpoint of subscription S: "<prefix><S>".
};

/// Names of the series the dispatcher reports.
namespace metric_names {
inline constexpr const char* deliveries = "aetherium_notification_deliveries_total"; ///< counter, label outcome
inline constexpr const char* dead_letters = "aetherium_notification_dead_letters_total"; ///< counter
inline constexpr const char* lag = "aetherium_notification_lag_events"; ///< gauge: head - slowest checkpoint
} // namespace metric_names

/// Delivers the events of the log to the subscriptions that match them.
///
/// Every live subscription has its own thread and its own durable checkpoint
/// ("<prefix><id>"), so a slow or dead receiver delays only itself. A subscription's
/// thread reads the log after its checkpoint (at first: after its own creation), POSTs
/// each matching event in log order, retries failures (any non-2xx answer, any transport
/// error) after retry_policy's delays, and after max_attempts records
/// `subscription.delivery_dead_lettered` and goes on. The checkpoint moves past an event
/// only once it is delivered or dead-lettered: delivery is at least once (an event whose
/// answer was lost in a crash is sent again, with the same X-Aetherium-Delivery id).
///
/// Threads, not actors: every step blocks on the network or the database.
class notification_dispatcher {
public:
  notification_dispatcher(dispatcher_ports ports, dispatcher_options options);
  /// Stops and joins every thread.
  ~notification_dispatcher();

  /// Starts following the log. Call once.
  void start();

  /// Stops: attempts in flight finish (bounded by the sender's timeouts), waits end now.
  /// Idempotent.
  void stop();

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace aetherium::notifications
