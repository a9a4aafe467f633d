#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/api/api_types.hpp"
#include "events/domain/codec.hpp"
#include "events/projection.hpp"
#include "events/result.hpp"

namespace aetherium::read_model {

/// One task as the board holds it: the aggregate's state folded by the same `evolve` the
/// task actor uses, plus where it sits in the log.
struct task_entry {
  domain::task_state state;
  std::int64_t version = 0;      ///< Version of the task's stream folded in.
  std::int64_t requested_at = 0; ///< Position of task.requested: the list order and cursor.
};

/// Everything the board knows, as a checkpoint saves it: its size depends on the number of
/// tasks and projects, never on the length of the log.
struct board_state {
  std::map<std::string, task_entry> tasks; ///< By task id (without the "task-" prefix).
  std::map<std::string, domain::project_state> projects; ///< By project id.
  /// (code_host_repo, number) -> the newest task that opened or updated that pull request.
  std::map<std::pair<std::string, std::int64_t>, std::string> pull_requests;
  std::map<std::string, scheduling::tenant_state> tenants; ///< By tenant id: quotas set in the log.
  std::size_t corrupt = 0; ///< Events that could not be decoded.
  std::string last_corruption;
};

/// The read model behind the HTTP API: projects and tasks, folded from the log. A pure
/// fold: it never fails and never does I/O. An event it cannot decode is counted (see
/// corrupt_events) and skipped, so one bad row cannot stop the API; replay reports it
/// (aetherium replay --verify). The audit trail is not kept here: it is the log itself
/// (audit_feed.hpp reads it from the store).
class task_board : public projection {
public:
  /// Without a tenant codec, tenant streams are ignored (every tenant has the defaults).
  task_board(std::shared_ptr<const domain::task_codec> tasks, std::shared_ptr<const domain::project_codec> projects,
             std::shared_ptr<const domain::tenant_codec> tenants = nullptr);

  void apply(const recorded_event& event) override;

  /// The task, when it exists in `tenant` (another tenant's task is absent, like a missing one).
  const task_entry* find_task(const tenant_id& tenant, const task_id& id) const;
  /// The task in any tenant: for the execution plane, never for callers.
  const task_entry* find_task(const task_id& id) const;
  const domain::project_state* find_project(const tenant_id& tenant, const project_id& id) const;
  /// The tenant as its stream made it; null when it was never created.
  const scheduling::tenant_state* find_tenant(const tenant_id& id) const;

  /// Tasks of `tenant` matching `filter`, newest first. Errors: invalid_argument (limit,
  /// or a cursor this board did not hand out).
  result<api::task_page> list_tasks(const tenant_id& tenant, const api::task_filter& filter) const;
  /// Tasks of `tenant` that are not terminal.
  std::size_t live_tasks(const tenant_id& tenant) const;
  /// How many tasks of every tenant are in each status (api::to_string names), for /metrics.
  std::map<std::string, std::size_t> count_by_status() const;
  /// Every task, oldest first.
  std::vector<task_id> all_task_ids() const;
  /// Every task that is not terminal, oldest first: what a restarted control plane reconciles.
  std::vector<task_id> live_task_ids() const;
  /// The newest task that opened or updated pull request `number` of `repo` (as
  /// code_host_repo names it): the parent of a follow-up asked for on that pull request.
  const task_entry* find_by_pull_request(const std::string& repo, std::int64_t number) const;
  /// Model spend of the tree task `id` belongs to: its root (following parents up) and
  /// every task whose chain of parents leads there, in millionths of a cent. Walks every
  /// task: for a run's start, not for a request path.
  std::uint64_t tree_spend_microcents(const task_id& id) const;
  /// Events that could not be decoded so far, with the last reason.
  std::size_t corrupt_events() const { return s_.corrupt; }
  const std::string& last_corruption() const { return s_.last_corruption; }

  /// The state a checkpoint saves (the position is position()).
  const board_state& state() const { return s_; }
  /// Replaces the whole board with `state`, folded up to `position` (a loaded checkpoint).
  void restore(board_state state, std::int64_t position);

private:
  void apply_task(const recorded_event& event);
  void apply_project(const recorded_event& event);
  void apply_tenant(const recorded_event& event);

  std::shared_ptr<const domain::task_codec> task_codec_;
  std::shared_ptr<const domain::project_codec> project_codec_;
  std::shared_ptr<const domain::tenant_codec> tenant_codec_;
  board_state s_;
  std::map<std::int64_t, std::string> tasks_by_position_; ///< Derived from s_.tasks: the list order.
};

/// The API's view of a task.
api::task_view to_view(const task_entry& entry);
/// The API's view of a project.
api::project_view to_view(const domain::project_state& project);

} // namespace aetherium::read_model
