#pragma once

#include <cstdint>
#include <functional>

#include "events/event.hpp"
#include "events/event_publisher.hpp"
#include "events/result.hpp"

namespace aetherium {

/// An event taken off the bus, with the message it came in and where it was.
struct consumed_event {
  recorded_event event;  ///< Decoded from the message value (event_envelope_json).
  event_message message; ///< Topic, key, headers and value as received.
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  int attempt = 1;       ///< 1 on the first try, n on the n-th try of the same message.
};

/// Handles one event for an integration. Return ok when its effect is done; an error makes
/// the consumer retry it and, after the last attempt, move it to the dead-letter topic.
/// Must be idempotent: the same event can arrive more than once (at-least-once delivery).
using consumed_event_handler = std::function<result<void>(const consumed_event&)>;

/// Counters of a running consumer, for metrics and tests.
struct consumer_stats {
  std::uint64_t handled = 0;       ///< Handler returned ok.
  std::uint64_t duplicates = 0;    ///< Skipped: the event id was handled recently.
  std::uint64_t retries = 0;       ///< Handler calls after a failed one.
  std::uint64_t dead_lettered = 0; ///< Moved to the dead-letter topic.
};

/// A member of a consumer group feeding bus messages to a handler (an integration).
///
/// Contract:
/// - At least once: a message's offset is committed only after the handler returned ok
///   for it, it was skipped as a duplicate, or it was written to the dead-letter topic.
///   A consumer that dies before committing leaves the message to be delivered again.
/// - Order: messages of one partition (so all events of one stream) reach the handler one
///   at a time, in offset order, on one consumer-owned thread.
/// - Dedupe: an event whose id this consumer handled among its most recent ids (a bounded
///   window) is skipped. Other members of the group and restarts do not share the window,
///   so handlers must still tolerate repeats.
/// - Failures: a handler error is retried with backoff up to a fixed number of attempts;
///   then the original message, with headers naming the error, goes to the dead-letter
///   topic. A message that is not an event envelope goes there at once (corrupt).
/// - Rebalance: offsets of handled messages are committed before partitions are given up.
class event_consumer {
public:
  /// Stops (see stop()).
  virtual ~event_consumer() = default;

  /// Abandons the message being retried, if any (it stays uncommitted), waits for a running
  /// handler call to return, commits handled offsets and leaves the group. Idempotent.
  virtual void stop() = 0;

  /// Counters so far.
  virtual consumer_stats stats() const = 0;
};

} // namespace aetherium
