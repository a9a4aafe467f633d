#pragma once

// The steps of one task run, written against a small host interface so they read as one
// sequence and can be driven without an actor system in tests. No CAF here.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/sandbox_supervisor.hpp"
#include "actors/task_runner.hpp"
#include "events/domain/task.hpp"
#include "events/event.hpp"
#include "events/models/model_gateway.hpp"
#include "events/scheduling/scheduler.hpp"

namespace aetherium::actors {

/// What a run is told while its sandbox lives. Returning false stops the sandbox.
struct sandbox_callbacks {
  std::function<bool(output_stream, const std::string&)> on_output;
  std::function<bool(const std::string& sandbox_id)> on_provisioned;
  /// A model call the gateway saw (posted through run_host::model_poster).
  std::function<bool(const models::call_record&)> on_model_call;
  /// The gateway refuses further calls: the budget is reached or spend is unknown.
  std::function<bool(const std::string& why)> on_model_budget;
};

/// Thread-safe: what the model gateway's threads post to the run, which handles it on its
/// own thread (while its sandbox runs, or in run_host::drain_model_posts after).
struct model_poster {
  std::function<void(models::call_record)> call;
  std::function<void(std::string why)> exhausted;
};

/// How a supervised sandbox ended.
struct sandbox_run {
  sandbox_outcome outcome;
  bool cancelled = false; ///< A cancel for the task arrived while it ran.
};

/// What the steps need from their surroundings (the runner actor, or a test).
class run_host {
public:
  virtual ~run_host() = default;
  /// The task as its actor holds it. Errors: unavailable.
  virtual result<domain::task_state> load(const std::string& id) = 0;
  /// Sends a command to the task's actor; the state after it, or why it was refused. The
  /// state is also kept for last_state(), refused or not.
  virtual result<domain::task_state> command(const std::string& id, domain::task_command cmd,
                                             const event_metadata& md) = 0;
  virtual const domain::task_state& last_state() const = 0;
  /// The node the task runs on. The runner's host answers what the dispatcher obtained
  /// before it started the run (the run never waits for room itself). Errors as
  /// scheduler_core::place; unavailable or quota_exceeded once the task's deadline passed
  /// while it waited.
  virtual result<node_id> place(const scheduling::placement_request& request) = 0;
  /// Gives the task's placement back.
  virtual void release(const std::string& id) = 0;
  /// Runs one job in a fresh, supervised sandbox and waits for it to end.
  virtual sandbox_run run_sandbox(std::shared_ptr<sandbox_runtime> rt, sandbox_job job, sandbox_callbacks cb) = 0;
  /// Waits `pause` before a store call is tried again, still taking a cancel or the
  /// server's stop; false once the server is stopping.
  virtual bool wait(std::chrono::milliseconds pause) = 0;
  /// True once a cancel of the task has arrived, or the server is stopping.
  virtual bool cancel_pending() = 0;
  /// Where the model gateway posts to this run. The default delivers at once, on the
  /// gateway's thread (for hosts that run the steps on one thread of their own in tests).
  virtual model_poster model_posts(sandbox_callbacks& cb) {
    auto* callbacks = &cb;
    return {[callbacks](models::call_record r) { callbacks->on_model_call(r); },
            [callbacks](std::string why) { callbacks->on_model_budget(why); }};
  }
  /// Hands what the gateway posted after the sandbox ended to `cb`.
  virtual void drain_model_posts(sandbox_callbacks& cb) { (void)cb; }
  /// Model spend of the tree `state` belongs to (its root, the root's follow-ups and
  /// theirs), in millionths of a cent, from the read model; the task's own spend included.
  virtual std::uint64_t tree_spend_microcents(const domain::task_state& state) { return state.spend.cost_microcents; }
  /// True once the server is stopping: the run records why it ends (a task still waiting
  /// to be placed is left as it is, to run at the next start) and ends.
  virtual bool interrupted() = 0;
};

/// Whether the run starts a task or finds one a previous process left behind.
enum class run_mode { fresh, recover };

/// Whether a run can go on with a task found in `status` after a restart: the agent's
/// output is stored, and what is left (verify, publish, complete) can be done again safely.
bool resumable(domain::task_status status);

/// Whether a run of the task in `state` needs a node: one still requested, or one a
/// restart resumes (its verification's sandbox counts against the node again).
bool needs_placement(const domain::task_state& state, run_mode mode);

/// What the scheduler is asked for the task in `state` by a run on node `home` (this
/// process's): a task naming model providers is placed only on `home` when `ports` has a
/// model gateway, whose socket is in this process.
scheduling::placement_request placement_for(const domain::task_state& state, const execution_ports& ports,
                                            const node_id& home);

/// Runs task `id` to a terminal event (see spawn_task_dispatcher).
void run_task(run_host& host, const execution_ports& ports, const execution_options& options, const node_id& node,
              const std::string& id, run_mode mode);

} // namespace aetherium::actors
