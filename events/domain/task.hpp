#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/domain/task_types.hpp"
#include "events/result.hpp"

namespace aetherium::domain {

// Events of a task stream ("task-<id>"), past tense, each with its wire name.

struct task_requested {
  static constexpr const char* type_name = "task.requested";
  /// 2: the wall-clock budget moved from a top-level timeout_seconds into spec.budgets,
  /// beside the log and change budgets (adapters/json/upcasters.cpp reads version 1).
  static constexpr int schema_version = 2;
  task_id id;
  tenant_id tenant;
  project_id project;
  std::optional<task_id> parent;
  task_spec spec;
  std::int64_t at_us = 0;
};
struct task_scheduled {
  static constexpr const char* type_name = "task.scheduled";
  static constexpr int schema_version = 1;
  node_id node;
  std::int64_t at_us = 0;
};
struct task_sandbox_provisioned {
  static constexpr const char* type_name = "task.sandbox_provisioned";
  static constexpr int schema_version = 1;
  std::string sandbox_id;
  std::int64_t at_us = 0;
};
struct task_started {
  static constexpr const char* type_name = "task.started";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};
struct task_output_collected {
  static constexpr const char* type_name = "task.output_collected";
  static constexpr int schema_version = 1;
  task_output output;
  std::int64_t at_us = 0;
};
struct task_verified {
  static constexpr const char* passed_type_name = "task.verification_passed";
  static constexpr const char* failed_type_name = "task.verification_failed";
  static constexpr int schema_version = 1;
  bool passed = false;
  int exit_code = 0;
  std::string output_tail;
  std::int64_t at_us = 0;
};
struct task_pr_recorded {
  static constexpr const char* opened_type_name = "task.pr_opened";
  static constexpr const char* updated_type_name = "task.pr_updated";
  static constexpr int schema_version = 1;
  bool updated = false; ///< A follow-up pushed to its parent's pull request.
  task_pull_request pr;
  std::int64_t at_us = 0;
};
struct task_completed {
  static constexpr const char* type_name = "task.completed";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};
struct task_failed {
  static constexpr const char* type_name = "task.failed";
  static constexpr int schema_version = 1;
  failure_reason reason = failure_reason::agent_failed;
  std::string detail;
  std::int64_t at_us = 0;
};
struct task_cancel_requested {
  static constexpr const char* type_name = "task.cancel_requested";
  static constexpr int schema_version = 1;
  std::string by;
  std::int64_t at_us = 0;
};
struct task_terminated {
  static constexpr const char* type_name = "task.terminated";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};

/// One model call of the agent, as the model gateway saw it.
struct task_model_used {
  static constexpr const char* type_name = "task.model_usage_recorded";
  static constexpr int schema_version = 1;
  std::string provider; ///< "anthropic", "openai", "gemini".
  std::string model;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cost_microcents = 0;
  bool priced = true; ///< False: no price was configured for the model (cost 0).
  bool read = true;   ///< False: the answer showed no usage (tokens and cost 0).
  std::int64_t at_us = 0;
};

using task_event = std::variant<task_requested, task_scheduled, task_sandbox_provisioned, task_started,
                                task_output_collected, task_verified, task_pr_recorded, task_completed,
                                task_failed, task_cancel_requested, task_terminated, task_model_used>;

/// The wire name of any task event.
const char* type_name(const task_event& e) noexcept;

/// The schema version a task event is written with: its struct's `schema_version`, the one
/// definition codecs and upcasters follow.
int schema_version(const task_event& e) noexcept;

/// The schema version of the task event named `type` (a wire name); 0 when none has it.
int task_schema_version(std::string_view type) noexcept;

// Commands, imperative. Every command carries the time it is decided at.

struct request_task {
  task_id id;
  tenant_id tenant;
  project_id project;
  std::optional<task_id> parent;
  task_spec spec;
  std::int64_t now_us = 0;
};
struct schedule_task { node_id node; std::int64_t now_us = 0; };
/// `and_start`: the agent starts in it at once, so both facts are appended together.
struct record_sandbox { std::string sandbox_id; std::int64_t now_us = 0; bool and_start = false; };
struct start_task { std::int64_t now_us = 0; };
struct collect_output { task_output output; std::int64_t now_us = 0; };
struct record_verification { bool passed = false; int exit_code = 0; std::string output_tail; std::int64_t now_us = 0; };
struct record_pull_request { bool updated = false; task_pull_request pr; std::int64_t now_us = 0; };
struct complete_task { std::int64_t now_us = 0; };
struct fail_task { failure_reason reason = failure_reason::agent_failed; std::string detail; std::int64_t now_us = 0; };
struct cancel_task { std::string by; std::int64_t now_us = 0; };
struct terminate_task { std::int64_t now_us = 0; };
/// Taken in any status once the task exists: a call the agent made is recorded even when
/// the task ended while the answer was on its way.
struct record_model_usage { task_model_used usage; };

using task_command = std::variant<request_task, schedule_task, record_sandbox, start_task, collect_output,
                                  record_verification, record_pull_request, complete_task, fail_task,
                                  cancel_task, terminate_task, record_model_usage>;

/// A task as its events made it.
struct task_state {
  bool exists = false;
  task_id id;
  tenant_id tenant;
  project_id project;
  std::optional<task_id> parent;
  task_spec spec;
  task_status status = task_status::requested;
  node_id node;
  std::string sandbox_id;
  std::optional<task_output> output;
  std::optional<bool> verification_passed;
  std::string verification_tail;
  std::optional<task_pull_request> pr;
  std::optional<failure_reason> failure;
  std::string failure_detail;
  task_spend spend;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
  std::int64_t started_at_us = 0;
  std::int64_t finished_at_us = 0;
};

/// Limits on what a task request may hold. The API takes a prompt of up to 64 Ki
/// characters (api::limits::prompt_chars); in UTF-8 that is up to four bytes each.
inline constexpr std::size_t max_prompt_bytes = 256 * 1024;
inline constexpr std::size_t max_script_bytes = 256 * 1024;

/// The task aggregate: pure decide and evolve.
struct task {
  using state = task_state;
  using command = task_command;
  using event = task_event;

  /// "task-<id>".
  static stream_id stream_of(const std::string& id) { return stream_id{"task-" + id}; }
  /// request_task creates the task: decided against an empty stream before it is read.
  static bool creates(const command& c) { return std::holds_alternative<request_task>(c); }

  /// Errors: not_found (no such task), conflict (requested twice), invalid_argument (bad
  /// request fields, naming the field), invalid_transition (the status forbids it).
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// True for "anthropic", "openai" and "gemini".
bool known_model_provider(std::string_view name) noexcept;

/// Adds one recorded model call to `spend` (saturating).
void add_usage(task_spend& spend, const task_model_used& u) noexcept;

/// Checks a task spec the way request_task does. Errors: invalid_argument with the field.
result<void> validate_task_spec(const task_spec& spec);

} // namespace aetherium::domain
