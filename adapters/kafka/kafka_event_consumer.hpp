#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event_consumer.hpp"
#include "events/result.hpp"

namespace aetherium {

/// What a Kafka event consumer reads and how it treats failures.
struct kafka_event_consumer_options {
  /// The consumer group; members share partitions and committed offsets. Required.
  std::string group_id;
  /// Topics to read; an entry starting with '^' is a regular expression
  /// (e.g. "^aetherium\\..*" for every event topic). Required.
  std::vector<std::string> topics;
  /// Handler calls per message before it is dead-lettered (at least 1).
  int max_attempts = 5;
  /// Wait before the first retry; doubles per retry up to max_retry_backoff.
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds max_retry_backoff{5'000};
  /// How many recently handled event ids are remembered for dedupe.
  std::size_t dedupe_window = 100'000;
  /// Where failed messages go; "aetherium-dlq.<group_id>" when empty (outside the
  /// "aetherium." prefix, so a pattern subscription never reads it back).
  std::string dead_letter_topic;
  /// Where a group without committed offsets starts: the oldest message, or only new ones.
  bool start_at_beginning = true;
  std::string client_id = "aetherium-consumer";
  /// Further librdkafka properties (e.g. "session.timeout.ms").
  std::map<std::string, std::string> extra_config;
};

/// Headers added to a dead-lettered message (beside its original headers).
namespace dead_letter_header {
inline constexpr const char* error = "dlq_error";         ///< errc name, e.g. "unavailable"
inline constexpr const char* detail = "dlq_detail";       ///< the handler's error detail
inline constexpr const char* attempts = "dlq_attempts";   ///< handler calls made
inline constexpr const char* topic = "dlq_topic";         ///< where the message was read
inline constexpr const char* partition = "dlq_partition";
inline constexpr const char* offset = "dlq_offset";
inline constexpr const char* group = "dlq_group";
} // namespace dead_letter_header

/// Joins `options.group_id` at `brokers` and feeds messages of `options.topics` to
/// `handler` on a thread it owns, as event_consumer's contract says: offsets committed
/// after the handler succeeds, recent event ids deduped, failures retried then written to
/// the dead-letter topic (with dead_letter_header values). Runs until stopped or destroyed.
/// Errors: invalid_argument (empty group or topics, max_attempts < 1, no handler, a bad
/// extra_config property).
result<std::unique_ptr<event_consumer>>
make_kafka_event_consumer(const std::string& brokers, kafka_event_consumer_options options,
                          consumed_event_handler handler);

} // namespace aetherium
