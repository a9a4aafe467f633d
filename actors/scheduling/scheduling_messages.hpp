#pragma once

// Message vocabulary of the scheduler and node actors. Included only by actor .cpp files
// and their tests; it pulls in CAF's atom header and nothing heavier.

#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/messages.hpp"
#include "events/scheduling/scheduler.hpp"

namespace aetherium::actors {

using place_atom = caf::atom_constant<caf::atom("place")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using down_atom = caf::atom_constant<caf::atom("down")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using undrain_atom = caf::atom_constant<caf::atom("undrain")>;
using quota_atom = caf::atom_constant<caf::atom("quota")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using rescheduled_atom = caf::atom_constant<caf::atom("resched")>;
using node_atom = caf::atom_constant<caf::atom("node")>;

/// Reply to a placement: the chosen node, or why not (see scheduler_core::place).
using placement_outcome = result<node_id>;
/// Reply to a release: what the task held, or not_found.
using release_outcome = result<scheduling::placement>;
/// Reply to a node command: the node after it, or why it was refused.
using node_outcome = result<scheduling::node_state>;
/// Reply to a quota change: the tenant's quotas now, or invalid_argument naming the quota.
using quota_outcome = result<scheduling::placement_quotas>;

/// Sent to every subscriber when a node goes down: where each of its sandboxes went.
struct node_down_report {
  node_id node;
  std::string reason;
  std::vector<scheduling::rescheduled> tasks;
};

} // namespace aetherium::actors

// In-process only: these never cross a network boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::scheduling::placement_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::scheduling::node_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::scheduling::node_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::scheduling::placement_quotas)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::scheduling::scheduler_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::placement_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::release_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::node_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::quota_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::node_down_report)
