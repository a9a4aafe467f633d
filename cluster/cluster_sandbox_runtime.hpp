#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "cluster/node_directory.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::cluster {

/// The label of a sandbox spec that names the node to run it on.
inline constexpr const char* node_label = "node";

/// One sandbox port over every node: a spec whose "node" label names another node than
/// `local_node` is provisioned on that node's agent (see spawn_node_agent); everything
/// else runs on `local`. Remote handles are "<node>:<id>".
///
/// A remote sandbox's workspace lives on its node: each exec first ships the control
/// plane's `workspace_dir` to the node and afterwards writes what the node sends back into
/// it, as hostile input (workspace_writer: nothing followed, paths checked, bounded by
/// `max_workspace_bytes`). copy_in writes both copies.
///
/// A node that disconnects or stops answering makes its calls fail with unavailable and a
/// detail starting with node_lost_detail (see is_node_lost). destroy of a sandbox whose node is gone succeeds:
/// the node destroys every sandbox it holds when it comes back. A spec with a
/// gateway_socket cannot run on another node (invalid_argument "gateway_socket").
std::shared_ptr<sandbox_runtime> make_cluster_sandbox_runtime(caf::actor_system& sys,
                                                              std::shared_ptr<sandbox_runtime> local,
                                                              std::string local_node,
                                                              std::shared_ptr<node_directory> nodes,
                                                              std::uint64_t max_workspace_bytes = 1ull << 30);

} // namespace aetherium::cluster
