#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "events/ids.hpp"

namespace aetherium::actors {

/// Spawns the actor that keeps node `node` up at `scheduler`: it sends
/// (heartbeat_atom, node id) every `every`, the first one `every` after it starts (the
/// registration counts as the first heartbeat). It runs until it is sent an exit.
caf::actor spawn_heartbeat(caf::actor_system& sys, caf::actor scheduler, node_id node,
                           std::chrono::milliseconds every = std::chrono::seconds(3));

} // namespace aetherium::actors
