#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "events/agents.hpp"
#include "events/blob_store.hpp"
#include "events/clock.hpp"
#include "events/code_host.hpp"
#include "events/github/pull_request_comments.hpp"
#include "events/ids.hpp"
#include "events/models/model_gateway.hpp"
#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"
#include "events/secret_store.hpp"
#include "events/task_log.hpp"
#include "events/workspace.hpp"

namespace aetherium::actors {

/// The ports a task run uses.
struct execution_ports {
  std::shared_ptr<sandbox_runtime> sandboxes;
  std::shared_ptr<workspace_provider> workspaces;
  std::shared_ptr<blob_store> blobs;
  std::shared_ptr<task_log> logs;
  std::shared_ptr<clock> time;
  std::shared_ptr<secret_store> secrets; ///< Called on a runner's thread (it may block).
  /// Where a follow-up's agent reads its pull request's conversation; null: it does not.
  std::shared_ptr<github::pull_request_comments> conversations;
  /// The sandboxes' route to model APIs; null: a task naming model providers fails.
  std::shared_ptr<models::model_gateway> gateway;
};

/// How tasks run on this node.
struct execution_options {
  std::string workspace_root;            ///< Absolute; one directory per task under it.
  std::string rootfs;                    ///< Absolute path of the sandbox image (unpacked rootfs).
  std::map<std::string, agent_template> agents = default_agent_templates();
  std::uint32_t sandbox_uid = 65534;
  std::uint32_t sandbox_gid = 65534;
  std::size_t verify_tail_bytes = 4096;  ///< Output of the verify command kept in its event.
  std::size_t summary_bytes = 2048;      ///< Last output of the agent kept as its summary.
  bool keep_workspaces = false;          ///< Leave workspaces on disk after the task (debugging).
};

/// Spawns the dispatcher: it runs each task through its life, one runner per task.
///
/// The dispatcher reads the task and places it with `scheduler` itself. A task that finds
/// no room (every node full, its tenant's quota used) waits as an entry of the dispatcher,
/// holding no thread: it asks again every 250 ms and whenever a run ends, within its own
/// deadline (max_seconds from when it began to wait); past it, or at once when no node can
/// ever run it, its run records the failure (no_capacity).
///
/// Only then is its runner spawned, a detached actor (it blocks on git, the code host and
/// the sandbox): it checks out the workspace, runs the agent in a fresh
/// sandbox under a supervisor (deadline, log and changed-bytes budgets, cancel), collects
/// the diff into the blob store, runs the verify command in a second fresh sandbox on a
/// fresh checkout with the change applied, opens or updates the pull request, and
/// completes the task; every step is a command to the task's actor, so every step is an
/// event. Any failure ends the task `failed` with its reason; a cancel ends it `terminated`.
///
/// Messages:
/// - (run_atom, std::string task_id): run it, unless a runner already has it.
/// - (cancel_atom, std::string task_id): stop its sandbox; the runner records terminated.
///   A task waiting for room stops waiting, and its runner records terminated.
/// - (tick_atom): reconcile once, after a restart. Tasks still requested are run; tasks
///   whose agent's output was stored resume (verify, publish, complete); tasks whose agent
///   was running when the previous process ended are failed with reason
///   control_plane_restart and why (their sandboxes were reaped when the sandbox runtime
///   started, and a half-run agent cannot be resumed safely), or terminated when a cancel
///   was asked. A branch such a task may have pushed without recording its pull request
///   is removed when the code host made it, and workspaces (and the repositories kept
///   beside them) left for tasks that are already terminal are removed.
///
/// Every step is retried with backoff while the event store is unavailable, and a step is
/// told to the task's log only once stored. On the server's stop (stop_atom) a run ends
/// at the next safe point: a task still waiting for room stays requested, one past its
/// agent stays where it is for the next start to resume, one whose agent runs is failed.
/// - (get_atom) -> std::size_t: runners alive.
///
/// `launch`, when given, starts each run in place of a runner (tests observe with it what
/// the dispatcher decides): it gets the task's id, whether the run resumes after a restart,
/// and the placement (a node, or why none). The actor it returns is watched until it ends
/// and told (cancel_atom) and (stop_atom) as a runner is.
using run_launcher = std::function<caf::actor(caf::actor_system& sys, const std::string& task, bool recover,
                                              result<node_id> placed)>;

caf::actor spawn_task_dispatcher(caf::actor_system& sys, caf::actor tasks, caf::actor board, caf::actor scheduler,
                                 node_id node, execution_ports ports, execution_options options,
                                 run_launcher launch = {});

} // namespace aetherium::actors
