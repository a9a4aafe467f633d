#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/api/api_types.hpp"
#include "events/event_store.hpp"
#include "events/result.hpp"
#include "events/task_log.hpp"

namespace aetherium::api {

/// Receives the answer of one control-plane call, exactly once, on any thread.
template <class T>
using reply = std::function<void(result<T>)>;

/// A slice of a task's log.
struct log_page {
  std::vector<log_chunk> chunks;
  std::uint64_t next_offset = 0; ///< Offset to read from next.
  bool complete = false;         ///< The log is closed and `next_offset` is its end.
};

/// Callbacks of follow_task_logs. None may block: they run on the thread that produced
/// the output (or the caller's, for output already there).
struct log_follower {
  /// Called once, first. An error (not_found, …) means nothing else is called.
  std::function<void(result<void>)> on_open;
  /// Each chunk at or after the starting offset, in order.
  std::function<void(const log_chunk&)> on_chunk;
  /// Called once the log is closed and every chunk was delivered.
  std::function<void()> on_end;
};

/// The inbound port of the control plane: what the HTTP API (and any other front end)
/// asks of the core. Every call carries the caller; every read and write is scoped to the
/// caller's tenant, and a resource of another tenant is reported as not_found, exactly
/// like one that does not exist.
///
/// Calls never block: each answers through its `reply`, exactly once, possibly before the
/// call returns and possibly on another thread. Roles are checked by the caller of this
/// port (the HTTP layer); implementations may check them again.
///
/// Errors, by what the caller must do: invalid_argument (fix the input; `field` names it),
/// not_found, conflict (re-read and retry), invalid_transition (the state forbids it),
/// quota_exceeded (back off), unavailable (a dependency is down: back off and retry),
/// internal (a bug).
class control_plane {
public:
  virtual ~control_plane() = default;

  /// Creates a project; answers once `project.created` is durable.
  /// Errors: invalid_argument, conflict (a project of that name exists in the tenant).
  virtual void create_project(const caller& who, create_project_request request,
                              reply<project_view> done) = 0;

  /// Errors: not_found.
  virtual void get_project(const caller& who, const project_id& id, reply<project_view> done) = 0;

  /// Requests a task; answers once `task.requested` is durable (the task may already have
  /// moved on). A non-empty `idempotency_key` makes retries safe: the same key with the same
  /// request answers the task created the first time (replayed = true); the same key with
  /// a different request is a conflict. Keys are scoped to the tenant.
  /// Errors: invalid_argument, not_found (project or parent task), conflict,
  /// quota_exceeded (the tenant's active-task quota).
  virtual void create_task(const caller& who, create_task_request request, std::string idempotency_key,
                           reply<task_created> done) = 0;

  /// Errors: not_found.
  virtual void get_task(const caller& who, const task_id& id, reply<task_view> done) = 0;

  /// Tasks of the caller's tenant matching `filter`, newest first.
  /// Errors: invalid_argument (a cursor this implementation did not hand out).
  virtual void list_tasks(const caller& who, task_filter filter, reply<task_page> done) = 0;

  /// Asks a live task to stop: answers the task in cancel_requested (or as it is when it
  /// already is cancel_requested). Errors: not_found, invalid_transition (already terminal).
  virtual void cancel_task(const caller& who, const task_id& id, reply<task_view> done) = 0;

  /// Every event of the task's stream, in version order. Errors: not_found.
  virtual void task_events(const caller& who, const task_id& id, reply<std::vector<event_view>> done) = 0;

  /// Up to `limit` events of the caller's tenant with a position above `after`, in position
  /// order. Errors: invalid_argument (negative `after`, zero `limit`).
  virtual void events_after(const caller& who, std::int64_t after, std::size_t limit,
                            reply<event_page> done) = 0;

  /// Every node the log knows (registered at some point), with what the scheduler sees of
  /// it now: free room, last heartbeat; a node the log says is there but that is not
  /// connected to this control plane is lost.
  virtual void list_nodes(const caller& who, reply<std::vector<node_view>> done) = 0;

  /// Drains a node (it keeps what it runs, takes nothing new), or with `undrain` lets a
  /// drained node take sandboxes again. Errors: not_found, invalid_transition (a lost or
  /// removed node), unavailable.
  virtual void drain_node(const caller& who, const node_id& id, bool undrain, reply<node_view> done) = 0;

  /// Removes a node: recorded as node.removed, its sandboxes' tasks end with node_lost, its
  /// credential stops working (it must join again with a token). Errors: not_found,
  /// unavailable.
  virtual void remove_node(const caller& who, const node_id& id, reply<node_view> done) = 0;

  /// At most about `max_bytes` of the task's log from `from_offset` (at least one chunk when
  /// there is one). Errors: not_found.
  virtual void read_task_logs(const caller& who, const task_id& id, std::uint64_t from_offset,
                              std::size_t max_bytes, reply<log_page> done) = 0;

  /// Streams the task's log from `from_offset`: what is there, then live output, then the
  /// end. Works for running and finished tasks alike. Destroying or stopping the handle ends
  /// delivery; stop() may be called from inside a callback, and then returns at once.
  virtual std::unique_ptr<subscription> follow_task_logs(const caller& who, const task_id& id,
                                                         std::uint64_t from_offset, log_follower follower) = 0;

  /// Whether the control plane can serve: its dependencies (event store, projections) are
  /// reachable and caught up. Errors: unavailable, with what is missing.
  virtual void readiness(reply<void> done) = 0;
};

} // namespace aetherium::api
