#pragma once

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "events/clock.hpp"
#include "events/ids.hpp"

namespace aetherium::actors {

/// How a node actor watches its node.
struct node_actor_options {
  /// Silence after which the node is marked down (reason "heartbeat_timeout"). The
  /// registration counts as a heartbeat. Measured on CAF's clock, so tests drive it with
  /// the test coordinator's simulated time.
  std::chrono::milliseconds heartbeat_timeout{15000};
  /// Stamps the node's events; the system clock when null.
  std::shared_ptr<aetherium::clock> clock;
};

/// Spawns the actor of one node: it holds the node aggregate (capacity, status, last
/// heartbeat), decides each command with the pure core and applies it in memory.
///
/// Messages, each answered with a node_outcome (the node after the command, or why not):
/// - (register_atom, scheduling::node_registration): the registration's id must be `id`.
/// - (heartbeat_atom)
/// - (down_atom, std::string reason)
/// - (drain_atom)
/// - (get_atom): not_found before the first registration.
///
/// After each change of status or capacity, and before replying, it sends
/// (node_atom, scheduling::node_state) to `owner` (held weakly: the node actor never
/// keeps its owner alive).
caf::actor spawn_node_actor(caf::actor_system& sys, node_id id, const caf::actor_addr& owner,
                            node_actor_options options);

} // namespace aetherium::actors
