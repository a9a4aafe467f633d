#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/ids.hpp"

namespace aetherium::domain {

/// Where a task is in its lifecycle. Each change is one event of the task's stream.
enum class task_status {
  requested,
  scheduled,
  sandbox_provisioned,
  running,
  output_collected,
  verification_passed,
  verification_failed,
  pr_opened,
  pr_updated,
  completed,
  failed,
  cancel_requested,
  terminated,
};

/// Every status, in lifecycle order.
inline constexpr task_status all_task_statuses[] = {
  task_status::requested,           task_status::scheduled,         task_status::sandbox_provisioned,
  task_status::running,             task_status::output_collected,  task_status::verification_passed,
  task_status::verification_failed, task_status::pr_opened,         task_status::pr_updated,
  task_status::completed,           task_status::failed,            task_status::cancel_requested,
  task_status::terminated,
};

/// Wire name, e.g. "sandbox_provisioned". The names are part of the API.
const char* to_string(task_status s) noexcept;

/// Parses a wire name; false when `name` is none of them.
bool parse_task_status(std::string_view name, task_status& out) noexcept;

/// True for completed, failed and terminated: nothing happens to such a task any more.
bool is_terminal(task_status s) noexcept;

/// Why a task failed. The wire names are part of the API.
enum class failure_reason {
  agent_failed,          ///< The agent exited non-zero.
  agent_missing,         ///< The agent's CLI is not in the image.
  timeout,               ///< The wall-clock budget ran out.
  oom,                   ///< The sandbox's memory limit killed the agent.
  budget_exceeded,       ///< Log or changed-bytes budget exceeded.
  sandbox_error,         ///< The sandbox could not be provisioned or run.
  workspace_error,       ///< The repository could not be checked out or read.
  verification_failed,   ///< Verification failed and the task asked for no PR then.
  code_host_error,       ///< The pull request could not be opened or updated.
  control_plane_restart, ///< The control plane died while the task ran.
  no_capacity,           ///< No node can ever run it (runtime or size).
  node_lost,             ///< The node running its sandbox was lost (killed, cut off, removed).
};

/// Wire name, e.g. "control_plane_restart".
const char* to_string(failure_reason r) noexcept;
/// Parses a wire name; false when unknown.
bool parse_failure_reason(std::string_view name, failure_reason& out) noexcept;

/// Resource bounds of a task's sandbox.
struct task_limits {
  std::uint64_t memory_bytes = 512ull << 20;
  std::uint32_t pids = 256;
  std::uint32_t cpu_millis = 1000;
  std::uint64_t disk_bytes = 1ull << 30;
};

/// How long and how much a task may spend.
struct task_budgets {
  std::uint32_t max_seconds = 1800;
  std::uint64_t max_log_bytes = 8ull << 20;
  std::uint64_t max_changed_bytes = 16ull << 20;
  /// Model spend of the task's tree (the task, its follow-ups and theirs) in cents that
  /// ends the task once reached; 0 = no cost budget (spend is still recorded).
  std::uint64_t max_cost_cents = 0;
};

/// What a task's agent spent on model calls through the model gateway.
struct task_spend {
  std::uint64_t calls = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cost_microcents = 0; ///< Millionths of a cent.
  std::uint64_t unread_calls = 0;    ///< Calls whose usage the provider's answer did not show.
};

/// What a task asks for. Filled with the project's and server's defaults before it is
/// requested, so the event carries the effective values.
struct task_spec {
  std::string agent_type;           ///< claude, gemini, codex, script, or a configured one.
  std::string prompt;
  std::string script;               ///< For agent_type "script": the shell script to run.
  std::string repo;
  std::string base_ref;
  std::string runtime = "crun";     ///< crun, runc, runsc or microvm.
  task_limits limits;
  task_budgets budgets;
  std::vector<std::string> allowed_hosts; ///< Empty: no network.
  std::vector<std::string> secrets;       ///< Names only.
  /// Model providers ("anthropic", "openai", "gemini") the agent may call through the
  /// model gateway; filled from the agent template when the request names none.
  std::vector<std::string> model_providers;
  std::string verify_command;       ///< Empty: no shadow verification.
  bool open_pr_on_failed_verification = false;
  /// How many times the task is placed again when its node is lost before its agent
  /// started (nothing of it ran, so nothing can be duplicated). 0 to 3.
  std::uint32_t node_loss_retries = 1;
};

/// What an agent's run produced.
struct task_output {
  std::uint32_t files_changed = 0;
  std::uint32_t insertions = 0;
  std::uint32_t deletions = 0;
  std::uint64_t changed_bytes = 0;
  int exit_code = 0;
  std::int64_t duration_ms = 0;
  std::string base_commit;
  std::string summary;   ///< The agent's last lines of output.
  std::string patch_ref; ///< Where the full change is stored (an object id).
  /// Where the agent CLI's session files are stored ("" = none), and the session's id, so
  /// a follow-up's agent resumes the conversation.
  std::string session_ref;
  std::string session_id;
};

/// A pull request as recorded on the task.
struct task_pull_request {
  std::string url;
  std::int64_t number = 0;
  std::string branch;
  std::string commit;
};

} // namespace aetherium::domain
