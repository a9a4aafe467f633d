#pragma once

// The vocabulary between the control plane and its nodes. Everything here may cross the
// network: each type is registered with CAF under the same name in every process
// (add_cluster_types). Included only by the cluster's actor .cpp files and tests.

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "cluster/cluster_wire.hpp"

namespace aetherium::cluster {

using join_atom = caf::atom_constant<caf::atom("join")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using beat_atom = caf::atom_constant<caf::atom("beat")>;
using provision_atom = caf::atom_constant<caf::atom("provision")>;
using exec_atom = caf::atom_constant<caf::atom("exec")>;
using output_atom = caf::atom_constant<caf::atom("output")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using copy_in_atom = caf::atom_constant<caf::atom("copyin")>;
using copy_out_atom = caf::atom_constant<caf::atom("copyout")>;
using signal_atom = caf::atom_constant<caf::atom("signal")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using destroy_atom = caf::atom_constant<caf::atom("destroy")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;

/// Registers every wire type with `cfg`; call before the actor system is made.
inline void add_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<wire_error>("aetherium.wire_error");
  cfg.add_message_type<wire_registration>("aetherium.wire_registration");
  cfg.add_message_type<wire_entry>("aetherium.wire_entry");
  cfg.add_message_type<std::vector<wire_entry>>("aetherium.wire_entries");
  cfg.add_message_type<wire_spec>("aetherium.wire_spec");
  cfg.add_message_type<wire_exec>("aetherium.wire_exec");
  cfg.add_message_type<wire_exit>("aetherium.wire_exit");
  cfg.add_message_type<wire_sandbox>("aetherium.wire_sandbox");
  cfg.add_message_type<std::vector<wire_sandbox>>("aetherium.wire_sandboxes");
  cfg.add_message_type<wire_reply>("aetherium.wire_reply");
}

} // namespace aetherium::cluster
