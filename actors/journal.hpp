#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "events/event_store.hpp"

namespace aetherium::actors {

/// How the journal reads.
struct journal_options {
  /// Reads block on the database, so by default they run on a detached actor with its own
  /// thread, never on the shared scheduler. Tests with an in-memory store may turn it off
  /// to stay on the deterministic test scheduler.
  bool detached_reads = true;
};

/// Spawns the journal, the one actor that talks to the event store.
///
/// Messages:
/// - (append_atom, append_request) -> append_outcome, once the events are durable. The
///   store's own writer thread does the I/O; the journal never blocks.
/// - (load_atom, stream_id) -> load_outcome: every event of the stream, in order.
caf::actor spawn_journal(caf::actor_system& sys, std::shared_ptr<event_store> store,
                         journal_options options = {});

} // namespace aetherium::actors
