#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include "events/api/metrics.hpp"
#include "events/event_store.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::actors {

class task_control_plane;

/// What the metrics sampler reads, and the gauges it sets.
struct sampled_parts {
  std::shared_ptr<task_control_plane> control;
  std::shared_ptr<event_store> store;
  std::shared_ptr<sandbox_runtime> sandboxes;
  api::core_metrics metrics;
  /// Further readings, each run on every tick on the sampler's thread (they may block).
  std::vector<std::function<void()>> probes;
};

/// Spawns the actor that sets the gauges of /metrics at once and then every `every`:
/// tasks by state (from the task board), live sandboxes (the runtime's list), relay lag
/// (log head minus `relay`'s checkpoint, and the age of its oldest undelivered event; an
/// invalid `relay` when Kafka is off).
/// Detached: the sandbox list and the head position block on the disk and the database.
/// It runs until it is sent an exit.
caf::actor spawn_metrics_sampler(caf::actor_system& sys, sampled_parts parts, caf::actor relay,
                                 std::chrono::milliseconds every = std::chrono::seconds(2));

} // namespace aetherium::actors
