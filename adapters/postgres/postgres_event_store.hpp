#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "events/checkpoint_store.hpp"
#include "events/clock.hpp"
#include "events/event_store.hpp"

namespace aetherium {

/// Tuning of the PostgreSQL event store.
struct postgres_event_store_options {
  /// Appends waiting together are committed in one transaction of at most this many events.
  std::size_t max_batch_events = 8192;
  /// Connections used by readers (read_stream, read_all); subscriptions have their own.
  std::size_t read_connections = 4;
  /// Source of recorded_at; the system clock when null.
  std::shared_ptr<aetherium::clock> time_source;
};

/// Opens the event store in the database at `conninfo` (libpq key=value or URL form).
/// The schema must be migrated (postgres::migrate_up). Errors: unavailable.
result<std::shared_ptr<event_store>>
make_postgres_event_store(const std::string& conninfo, postgres_event_store_options options = {});

/// Checkpoints in the same database, table `checkpoints`. Errors: unavailable.
result<std::shared_ptr<checkpoint_store>> make_postgres_checkpoint_store(const std::string& conninfo);

} // namespace aetherium
