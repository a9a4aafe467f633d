#pragma once

// The CAF configuration every Aetherium process uses. Pulls in CAF's config header: include
// it only where an actor system is made (composition roots, benchmarks).

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "actors/actor_system_config.hpp"

namespace aetherium::actors {

/// A scheduler thread per core (at least 2) and CAF's own logging off: the process logs.
struct system_config : caf::actor_system_config {
  system_config() {
    set("scheduler.max-threads", default_scheduler_threads());
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.console", caf::atom("none"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

} // namespace aetherium::actors
