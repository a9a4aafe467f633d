#pragma once

// The code-host loop: the integration that turns verified task output into pushes and pull
// requests, and tells a pull request about its follow-ups. It consumes the log (through
// the embedded log consumer or a Kafka consumer group) and writes its results back to the
// task's stream. No CAF here: it runs on a consumer's thread.

#include <memory>
#include <string>

#include "events/blob_store.hpp"
#include "events/clock.hpp"
#include "events/code_host.hpp"
#include "events/domain/codec.hpp"
#include "events/event.hpp"
#include "events/event_store.hpp"
#include "events/github/pull_request_comments.hpp"
#include "events/task_log.hpp"
#include "events/workspace.hpp"

namespace aetherium::actors {

/// What the loop reads and writes.
struct code_host_loop_ports {
  std::shared_ptr<event_store> store;
  std::shared_ptr<const domain::task_codec> codec;
  std::shared_ptr<blob_store> blobs;             ///< Where the agents' patches are.
  std::shared_ptr<workspace_provider> workspaces; ///< Rebuilds a change from its patch.
  std::shared_ptr<aetherium::code_host> host;
  std::shared_ptr<github::pull_request_comments> comments; ///< Null: no comments.
  std::shared_ptr<task_log> logs;                ///< Null: task logs are not told.
  std::shared_ptr<clock> time;
};

/// Where the loop rebuilds changes (one directory per task, removed after use).
struct code_host_loop_options {
  std::string scratch_dir;
};

/// The commit-message line that marks the commit a task pushed: how a push is found again.
std::string task_commit_marker(const std::string& task_id);

/// Acts on one event of the log, exactly once in effect however often it is given the
/// same event (consumers deliver at least once, and a process may die anywhere):
/// - a task whose output is ready to publish (verification passed; or failed and the task
///   asked for a pull request anyway; or collected with no verification asked) gets its
///   change pushed and its pull request opened, or its parent's updated, and then
///   `task.pr_opened`/`task.pr_updated` and `task.completed` appended together; a task
///   with no change is completed. Before it pushes, it asks the code host what an earlier,
///   interrupted attempt already did (the pull request of the task's branch, the commit
///   carrying task_commit_marker), so no second commit or pull request appears. A code
///   host that refuses the change fails the task (code_host_error);
/// - a cancel of a task whose run has ended (its output waits to be published) terminates it;
/// - a follow-up's start and end are written as comments on the pull request it follows
///   up, each marked with the event's id so it is written once.
/// The results are decided by the task aggregate and appended with the stream's version
/// and ids derived from the task (a concurrent writer, or a second consumer, makes the
/// append a duplicate or a conflict, never a second pull request record).
/// Errors: unavailable (the store or the code host cannot be reached: call again later).
class code_host_loop {
public:
  code_host_loop(code_host_loop_ports ports, code_host_loop_options options);
  result<void> handle(const recorded_event& event);

private:
  struct task_at;
  result<task_at> load(const std::string& stream);
  result<void> publish(const task_at& task, const recorded_event& cause);
  result<void> terminate(const task_at& task, const recorded_event& cause);
  result<void> comment(const task_at& task, const recorded_event& cause);
  result<change_set> rebuild(const domain::task_state& task);
  /// Appends what `commands` decide, in order, at the stream's version `task.version`.
  result<bool> record(const task_at& task, const recorded_event& cause, const std::string& what,
                      const std::vector<domain::task_command>& commands);
  /// Tells the task's log how it ended (one line per line of `text`) and closes it.
  void say(const domain::task_state& task, const std::string& text);

  code_host_loop_ports ports_;
  code_host_loop_options options_;
};

} // namespace aetherium::actors
