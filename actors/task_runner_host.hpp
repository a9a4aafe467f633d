#pragma once

// The blocking side of a task: the body of its runner (a detached actor) and the clean-up
// of workspaces at start. Included only by actor .cpp files.

#include <string>

#include <caf/fwd.hpp>

#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/task_run_steps.hpp"
#include "actors/task_runner.hpp"

namespace aetherium::actors {

/// Runs task `id` to its end on the calling runner's thread (see spawn_task_dispatcher):
/// `placed` is the node the dispatcher obtained, or why none. Steps go to `tasks`; the
/// placement is given back to `scheduler` when the run ends; `board` tells a task tree's
/// model spend.
void run_placed_task(caf::blocking_actor* self, const caf::actor& tasks, const caf::actor& scheduler,
                     const caf::actor& board, placement_outcome placed, const execution_ports& ports, const execution_options& options,
                     const node_id& node, const std::string& id, run_mode mode);

/// At start: removes what a previous process left under the workspace root for tasks that
/// are terminal (killed between the terminal event and the clean-up, or during a push).
/// Anything of a live task, or of no known task, is left alone. Blocks: run it detached.
void sweep_workspaces(caf::blocking_actor* self, caf::actor board, execution_ports ports, execution_options options);

} // namespace aetherium::actors
