#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "events/event_publisher.hpp"
#include "events/result.hpp"

namespace aetherium {

/// Tuning of the Kafka event publisher. Idempotence and acks=all are always on.
struct kafka_event_publisher_options {
  std::string client_id = "aetherium-publisher";
  /// How long one delivery may take before it fails with unavailable (and halts the
  /// publisher). 0, the default, retries until the broker takes the event, so a broker
  /// outage delays callbacks instead of failing them and per-stream order always holds.
  std::chrono::milliseconds delivery_timeout{0};
  /// How long publish waits for room in the local queue before failing with unavailable.
  std::chrono::milliseconds enqueue_timeout{30'000};
  /// How long the producer waits to fill a batch.
  std::chrono::milliseconds linger{5};
  /// How long the destructor waits for outstanding deliveries before failing them.
  std::chrono::milliseconds close_timeout{10'000};
  /// Further librdkafka properties (e.g. "queue.buffering.max.messages").
  std::map<std::string, std::string> extra_config;
};

/// An event publisher producing to Kafka at `brokers` ("host:port,..."): topic
/// "aetherium.<category>", key = stream id, event headers, JSON envelope value (see
/// to_event_message). Delivery callbacks run on a thread the publisher owns.
/// Connecting is lazy: an unreachable broker shows up as delayed callbacks, not here.
/// Errors: invalid_argument (empty brokers, a bad extra_config property).
result<std::shared_ptr<event_publisher>>
make_kafka_event_publisher(const std::string& brokers, kafka_event_publisher_options options = {});

} // namespace aetherium
