#pragma once

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster/node_directory.hpp"
#include "events/clock.hpp"
#include "events/scheduling/node_registry.hpp"

namespace aetherium::cluster {

struct node_gateway_options {
  std::shared_ptr<node_registry> registry; ///< Join tokens, credentials and node events in the log.
  caf::actor scheduler;                    ///< spawn_scheduler: where nodes register and beat.
  std::shared_ptr<node_directory> nodes;   ///< Filled with each connected node's agent.
  std::shared_ptr<clock> time;
  /// Joins and hellos being checked at once (each takes a worker thread and the log);
  /// beyond it a peer is refused with unavailable and asked to try again.
  std::size_t max_admits = 16;
  /// Refusals the log takes in a burst, and how often one more is allowed after it. A peer
  /// without a token must not be able to fill the log: beyond the budget refusals are still
  /// refused but only counted, and the next recorded one says how many were not.
  std::size_t refusal_burst = 20;
  std::chrono::seconds refusal_refill = std::chrono::seconds(3);
};

/// Spawns the actor nodes talk to (the control plane publishes it on its node port).
///
/// Messages (types in cluster/cluster_messages.hpp), each answered with a wire_reply:
/// - (join_atom, wire_registration, std::string token, caf::actor agent): a node joins with
///   a join token. A bad token is refused (unauthorized) and the refusal recorded
///   (node.join_refused) within the refusal budget above. Otherwise the node gets a fresh
///   credential (text), whose hash its node.registered event keeps, and is registered with
///   the scheduler. Beyond max_admits joins and hellos at once: unavailable, at once.
/// - (hello_atom, wire_registration, std::string credential, caf::actor agent): a node that
///   joined before connects again (after its restart, the control plane's, or a network
///   loss) with its credential; a node removed since must join again.
/// - (beat_atom, std::string node, std::string credential): its heartbeat. An error asks
///   the node to say hello again.
/// - (leave_atom, std::string node, std::string credential, bool gone): a node stopping on
///   purpose. First (gone false) it is drained: it finishes what it runs and takes nothing
///   new; then (gone true) it is down with reason "stopped", which is not a loss.
/// A node is lost (node.marked_down, its tasks fail with node_lost) when its agent's
/// connection ends or when the scheduler hears no beat for its heartbeat timeout.
caf::actor spawn_node_gateway(caf::actor_system& sys, node_gateway_options options);

} // namespace aetherium::cluster
