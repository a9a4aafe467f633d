#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "events/checkpoint_store.hpp"
#include "events/event_consumer.hpp"
#include "events/event_store.hpp"

namespace aetherium {

/// How a log consumer follows the log.
struct log_consumer_options {
  /// The checkpoint's name: one per integration (e.g. "code-host"). Required.
  std::string name;
  /// Wait before the first retry of a failed event; doubles per retry up to max_backoff.
  std::chrono::milliseconds backoff{200};
  std::chrono::milliseconds max_backoff{10'000};
  /// The checkpoint is saved after this many handled events, and once the consumer has
  /// caught up with the log and no event came for `save_when_idle`.
  std::size_t save_every = 50;
  std::chrono::milliseconds save_when_idle{200};
};

/// A running log consumer, with where it is for lag metrics.
class log_consumer : public event_consumer {
public:
  /// The position of the last event whose handler returned ok (the checkpoint, possibly
  /// not yet saved).
  virtual std::int64_t position() const = 0;
};

/// Feeds every event of `store` after the checkpoint `options.name` to `handler`, in
/// position order, one at a time, on a thread it owns: the embedded way to consume the
/// log, with no bus. A handler error is retried with backoff until the handler succeeds
/// or the consumer stops (an event is never skipped: handlers turn errors that retrying
/// cannot cure into events of their own). The checkpoint moves only over handled events,
/// so after a crash the consumer resumes there: at least once, like the Kafka consumer,
/// and handlers are idempotent. Errors: invalid_argument (no name or handler),
/// unavailable (the checkpoint cannot be read).
result<std::unique_ptr<log_consumer>> make_log_consumer(std::shared_ptr<event_store> store,
                                                        std::shared_ptr<checkpoint_store> checkpoints,
                                                        log_consumer_options options, consumed_event_handler handler);

} // namespace aetherium
