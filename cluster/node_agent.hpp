#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "events/sandbox_runtime.hpp"

namespace aetherium::cluster {

/// What a node runs its sandboxes with.
struct node_agent_options {
  std::shared_ptr<sandbox_runtime> runtime;
  std::string rootfs;         ///< The node's own sandbox image, in place of the control plane's.
  std::string workspace_root; ///< Absolute; one folder per sandbox under it.
  std::uint64_t max_workspace_bytes = 1ull << 30; ///< Bound of a workspace shipped either way.
};

/// Spawns the actor through which the control plane runs sandboxes on this node. It holds
/// the node's sandboxes; every call into the runtime runs on a detached worker.
///
/// Messages (types in cluster/cluster_messages.hpp), answered with a wire_reply:
/// - (provision_atom, wire_spec): text = the sandbox id. The sandbox gets this node's image
///   and a workspace folder of its own (empty until an exec pushes one).
/// - (copy_in_atom, id, path, bytes, uint32 mode), (copy_out_atom, id, path, uint64 max):
///   text = the bytes, (signal_atom, id, int32), (kill_atom, id) (the port's cancel),
///   (destroy_atom, id), (stats_atom, id): numbers = memory, cpu ns, pids, oom kills,
///   (list_atom): sandboxes.
/// - (exec_atom, wire_exec, caf::actor requester): not answered; the requester gets
///   (output_atom, int32 stream (0 out, 1 err), std::string) for each chunk and finally
///   (exited_atom, wire_exit), whose tree is the workspace after the command, read
///   without following anything (it is the sandbox's, so hostile).
/// - (leave_atom) -> wire_reply: destroys every sandbox it holds (a node that comes back
///   does this before it registers again: the tasks its sandboxes ran have ended).
caf::actor spawn_node_agent(caf::actor_system& sys, node_agent_options options);

} // namespace aetherium::cluster
