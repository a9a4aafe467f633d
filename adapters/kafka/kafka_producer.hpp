#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "events/event_publisher.hpp"
#include "events/result.hpp"

// Internal to adapters/kafka: the producer behind the event publisher and the consumer's
// dead-letter writer. No librdkafka type appears here.
namespace aetherium::kafka {

/// How a producer talks to the brokers.
struct producer_settings {
  std::string brokers;
  std::string client_id;
  /// How long a delivery may take before it fails with unavailable; 0 retries until the
  /// broker takes the message.
  std::chrono::milliseconds delivery_timeout{0};
  /// How long produce waits for room in the local queue before failing with unavailable.
  std::chrono::milliseconds enqueue_timeout{30'000};
  std::chrono::milliseconds linger{5};
  /// How long the destructor waits for outstanding deliveries before purging them.
  std::chrono::milliseconds close_timeout{10'000};
  /// Further librdkafka properties; idempotence and acks=all are always forced on.
  std::map<std::string, std::string> extra;
};

/// An idempotent librdkafka producer (acks=all, gapless) with its own poll thread, which
/// runs every delivery callback, in order per partition. Thread-safe.
class producer {
public:
  using done_fn = std::function<void(result<void>)>;

  /// Errors: invalid_argument (empty brokers, bad settings).
  static result<std::unique_ptr<producer>> create(producer_settings settings);

  /// Waits up to close_timeout for outstanding deliveries, then purges the rest (their
  /// callbacks get unavailable). Every callback has run when it returns.
  ~producer();

  /// Enqueues `message`; `done` runs exactly once with the outcome: later on the poll
  /// thread, or before produce returns when the message could not be enqueued.
  /// Errors: unavailable (the queue stayed full, the delivery timed out), invalid_argument
  /// (too large, bad topic), forbidden, internal (the client is broken).
  void produce(const event_message& message, done_fn done);

  /// Waits until every produced message had its callback, or fails with unavailable after
  /// `timeout`.
  result<void> flush(std::chrono::milliseconds timeout);

  struct impl;

private:
  explicit producer(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

} // namespace aetherium::kafka
