#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "events/checkpoint_store.hpp"
#include "events/event_publisher.hpp"
#include "events/event_store.hpp"

namespace aetherium::actors {

/// Makes a fresh publisher; the relay calls it at start and after each failure.
using publisher_factory = std::function<std::shared_ptr<event_publisher>()>;

/// Lag of the relay behind the log, for /metrics.
struct relay_lag {
  std::int64_t checkpoint = 0;   ///< Last position known to be on the bus (and saved).
  std::int64_t head = 0;         ///< Last position the relay has seen in the log.
  double oldest_pending_seconds = 0; ///< Age of the oldest event not yet on the bus.
};

/// Spawns the relay from the event log to the bus. It follows the log from its saved
/// checkpoint (named `name`), publishes every event in position order, and moves the
/// checkpoint only over a gap-free run of delivered events, so after a crash it resumes
/// there: duplicates are possible, losses are not. When a delivery fails it drops the
/// publisher, makes a new one and republishes from the checkpoint. The relay runs
/// detached (publishing may block while the bus's queue is full, and a dropped publisher
/// waits for its deliveries), and so do checkpoint writes. (get_atom) answers a relay_lag. Returns an invalid handle when the
/// checkpoint cannot be read (the database is unavailable).
caf::actor spawn_relay(caf::actor_system& sys, std::shared_ptr<event_store> store,
                       std::shared_ptr<checkpoint_store> checkpoints, publisher_factory make_publisher,
                       std::string name = "kafka-relay");

} // namespace aetherium::actors
