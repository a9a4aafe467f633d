#include "events/domain/task_types.hpp"

namespace aetherium::domain {

namespace {

constexpr const char* reason_names[] = {
  "agent_failed",    "agent_missing",       "timeout",         "oom",
  "budget_exceeded", "sandbox_error",       "workspace_error", "verification_failed",
  "code_host_error", "control_plane_restart", "no_capacity", "node_lost"};

} // namespace

const char* to_string(task_status s) noexcept {
  switch (s) {
    case task_status::requested: return "requested";
    case task_status::scheduled: return "scheduled";
    case task_status::sandbox_provisioned: return "sandbox_provisioned";
    case task_status::running: return "running";
    case task_status::output_collected: return "output_collected";
    case task_status::verification_passed: return "verification_passed";
    case task_status::verification_failed: return "verification_failed";
    case task_status::pr_opened: return "pr_opened";
    case task_status::pr_updated: return "pr_updated";
    case task_status::completed: return "completed";
    case task_status::failed: return "failed";
    case task_status::cancel_requested: return "cancel_requested";
    case task_status::terminated: return "terminated";
  }
  return "requested";
}

bool parse_task_status(std::string_view name, task_status& out) noexcept {
  for (auto s : all_task_statuses)
    if (name == to_string(s)) {
      out = s;
      return true;
    }
  return false;
}

bool is_terminal(task_status s) noexcept {
  return s == task_status::completed || s == task_status::failed || s == task_status::terminated;
}

const char* to_string(failure_reason r) noexcept {
  return reason_names[static_cast<int>(r)];
}

bool parse_failure_reason(std::string_view name, failure_reason& out) noexcept {
  for (int i = 0; i < static_cast<int>(std::size(reason_names)); ++i)
    if (name == reason_names[i]) {
      out = static_cast<failure_reason>(i);
      return true;
    }
  return false;
}

} // namespace aetherium::domain
