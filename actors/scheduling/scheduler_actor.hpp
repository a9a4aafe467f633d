#pragma once

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "events/clock.hpp"
#include "events/scheduling/scheduler.hpp"

namespace aetherium::actors {

/// How the scheduler places and watches nodes.
struct scheduler_options {
  scheduling::strategy strategy = scheduling::strategy::bin_pack;
  /// Quotas of tenants never given their own with (quota_atom, ...).
  scheduling::placement_quotas default_quotas = scheduling::unlimited_quotas();
  /// Silence after which a node is marked down (see node_actor_options).
  std::chrono::milliseconds heartbeat_timeout{15000};
  /// Stamps node events; the system clock when null.
  std::shared_ptr<aetherium::clock> clock;
};

/// Spawns the scheduler: a thin shell around scheduling::scheduler_core, plus one
/// node_actor per registered node (spawned on its first registration).
///
/// Messages (types in actors/scheduling/scheduling_messages.hpp):
/// - (place_atom, scheduling::placement_request) -> placement_outcome: the chosen node, or
///   invalid_argument / conflict / quota_exceeded / unavailable as scheduler_core::place
///   documents.
/// - (release_atom, std::string task_id) -> release_outcome: what it held, or not_found.
/// - (register_atom, scheduling::node_registration) -> node_outcome.
/// - (heartbeat_atom, std::string node_id) -> node_outcome; not_found for a node never
///   registered, invalid_transition for a node that is down (it must register again).
/// - (down_atom, std::string node_id, std::string reason) -> node_outcome.
/// - (drain_atom, std::string node_id) -> node_outcome.
/// - (undrain_atom, std::string node_id) -> node_outcome: a drained node takes sandboxes again.
/// - (get_atom, std::string node_id) -> node_outcome.
/// - (quota_atom, std::string tenant_id, scheduling::placement_quotas) -> quota_outcome.
/// - (get_atom) -> scheduling::scheduler_summary.
/// - (actor_atom, std::string node_id) -> caf::actor: the node's actor, or an invalid
///   handle for a node never registered.
/// - (subscribe_atom): the sender receives (rescheduled_atom, node_down_report) each time
///   a node goes down (heartbeat silence, down_atom, or its node actor dying). The report
///   lists where each of the node's sandboxes went; a task whose move failed is no longer
///   held, and its owner decides (retry place, or fail the task).
///
/// Node changes reach the placement core before the node command is answered, so a
/// placement sent after that reply sees them.
caf::actor spawn_scheduler(caf::actor_system& sys, scheduler_options options);

} // namespace aetherium::actors
