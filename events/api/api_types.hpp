#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/domain/task_types.hpp"
#include "events/ids.hpp"

namespace aetherium::api {

/// What a caller may do. Each role may do everything the roles before it may.
enum class role {
  viewer,    ///< Reads only.
  operator_, ///< Reads, and creates or cancels projects and tasks.
  admin,     ///< Everything, API keys included.
};

/// Wire name: "viewer", "operator", "admin".
const char* to_string(role r) noexcept;

/// Parses a wire name; false when `name` is none of them.
bool parse_role(std::string_view name, role& out) noexcept;

/// True when a caller with `held` may do what `needed` may.
inline bool role_allows(role held, role needed) noexcept {
  return static_cast<int>(held) >= static_cast<int>(needed);
}

/// Who is asking. Every read and write of the control plane is scoped to `tenant`.
struct caller {
  tenant_id tenant;
  std::string principal; ///< An API key id ("key:<id>") or a JWT subject ("jwt:<sub>").
  api::role role = role::viewer;
  /// The request's correlation id, written into the metadata of every event it causes
  /// (the HTTP request id, or the webhook delivery). Empty: none.
  std::string correlation_id;
};

/// Where a task is in its lifecycle: the domain's own vocabulary, so that what the API
/// shows and filters by is what the task aggregate decides.
using domain::task_status;
using domain::all_task_statuses;
using domain::parse_task_status;
using domain::is_terminal;
using domain::to_string;

/// Resource bounds asked for a task's sandbox. Zero means "the server's default".
struct resource_limits {
  std::uint64_t memory_bytes = 0;
  std::uint32_t pids = 0;
  std::uint32_t cpu_millis = 0;
  std::uint64_t disk_bytes = 0;
};

/// How long and how much a task may spend. Zero means "the server's default".
struct task_budgets {
  std::uint32_t max_seconds = 0;
  std::uint64_t max_cost_cents = 0;    ///< Model spend of the task's tree that ends it; 0 = none.
  std::uint64_t max_log_bytes = 0;     ///< Agent output kept before the run is stopped.
  std::uint64_t max_changed_bytes = 0; ///< Size of the collected diff before the run fails.
};

/// Outbound network access of a task's sandbox.
struct network_access {
  enum class mode {
    none,       ///< No network at all (the default).
    allow_list, ///< HTTP(S) to `allowed_hosts` only, through the host's egress proxy.
  };
  mode kind = mode::none;
  std::vector<std::string> allowed_hosts;
};

/// Wire name of a network mode: "none" or "allow_list".
const char* to_string(network_access::mode m) noexcept;

/// Parses a network mode; false when `name` is none of them.
bool parse_network_mode(std::string_view name, network_access::mode& out) noexcept;

/// What a task changed, once its output is collected.
struct diff_summary {
  std::uint32_t files_changed = 0;
  std::uint32_t insertions = 0;
  std::uint32_t deletions = 0;
  std::string summary; ///< The agent's own description of the change.
};

/// A project as the API shows it.
struct project_view {
  project_id id;
  tenant_id tenant;
  std::string name;             ///< Unique within the tenant.
  std::string repo;             ///< Clone URL or path of the repository.
  std::string default_base_ref; ///< Branch tasks start from when they name none.
  std::string verify_command;   ///< Shell command that checks a change; "" = none.
  std::int64_t created_at_us = 0;
};

/// Input of create_project. Empty optional strings take the defaults shown.
struct create_project_request {
  std::string name;
  std::string repo;
  std::string default_base_ref = "main";
  std::string verify_command;
};

/// A task as the API shows it: the projection of its stream.
struct task_view {
  task_id id;
  project_id project;
  tenant_id tenant;
  task_status status = task_status::requested;
  std::string agent_type;
  std::string prompt;
  std::string repo;
  std::string base_ref;
  std::string runtime; ///< "crun", "runc", "runsc" or "microvm".
  resource_limits limits;
  task_budgets budgets;
  network_access network;
  std::vector<std::string> secrets; ///< Names only; values never leave the secret store.
  std::vector<std::string> model_providers; ///< Providers the agent may call through the gateway.
  std::string verify_command;
  std::uint32_t node_loss_retries = 1;
  std::optional<task_id> parent;   ///< The task this one follows up.
  std::string failure_reason;      ///< Set when status is failed.
  std::string failure_detail;      ///< Why, in words; set when status is failed.
  domain::task_spend spend;        ///< Model calls of the task's own agent.
  std::string node;                ///< The node it was scheduled on; "" before that.
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
  std::int64_t started_at_us = 0;  ///< 0 until it runs.
  std::int64_t finished_at_us = 0; ///< 0 until it is terminal.
  std::optional<diff_summary> diff;
  std::string pr_url;              ///< "" until a pull request is opened.
  std::int64_t version = 0;        ///< Version of the task's stream this view reflects.
};

/// Input of create_task. Empty strings and zero limits take the project's or the server's
/// defaults (repo and base ref from the project, runtime from the server).
struct create_task_request {
  project_id project;
  std::string agent_type;
  std::string prompt;
  std::string repo;
  std::string base_ref;
  std::string runtime;
  resource_limits limits;
  task_budgets budgets;
  network_access network;
  std::vector<std::string> secrets;
  std::vector<std::string> model_providers; ///< Empty: the agent template's.
  std::string verify_command;
  std::optional<task_id> parent;
  std::uint32_t node_loss_retries = 1; ///< 0 to 3; see domain::task_spec.
};

/// What create_task answers: the task, and whether an earlier request with the same
/// idempotency key created it.
struct task_created {
  task_view task;
  bool replayed = false;
};

/// Which tasks list_tasks returns, newest first.
struct task_filter {
  std::optional<project_id> project;
  std::optional<task_status> status;
  std::size_t limit = 50;
  std::string cursor; ///< "" for the first page, else a next_cursor seen before.
};

/// One page of tasks.
struct task_page {
  std::vector<task_view> tasks;
  std::string next_cursor; ///< "" when this is the last page.
};

/// One recorded event as the audit trail shows it.
struct event_view {
  std::int64_t position = 0;
  std::string stream;
  std::int64_t version = 0;
  std::string type;
  int schema_version = 1;
  std::string payload; ///< A JSON object, as text.
  std::int64_t recorded_at_us = 0;
};

/// One page of the audit feed.
struct event_page {
  std::vector<event_view> events;
  std::int64_t next_after = 0; ///< Pass as `after` to get the following page.
};

/// A node of the execution plane.
struct node_view {
  node_id id;
  std::string address;
  bool up = true; ///< False once it stopped heartbeating.
  std::string status = "ready"; ///< ready, draining, lost or removed.
  std::uint32_t free_cpu_millis = 0;
  std::uint64_t free_memory_bytes = 0;
  std::uint32_t free_sandbox_slots = 0;
  std::uint32_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;
  std::uint32_t sandbox_slots = 0;
  std::uint32_t sandboxes_running = 0;
  std::vector<std::string> runtimes;
  std::int64_t last_heartbeat_us = 0;
};

} // namespace aetherium::api
