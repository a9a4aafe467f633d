#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "events/api/api_types.hpp"
#include "events/domain/project.hpp"
#include "events/domain/task.hpp"
#include "events/read_model/task_board.hpp"

namespace aetherium::read_model {

/// What a task gets when its request leaves a value at zero or empty.
struct task_defaults {
  std::string runtime = "crun";
  domain::task_limits limits;
  domain::task_budgets budgets;
  std::size_t active_task_quota = 0; ///< Live tasks per tenant; 0 = no limit.
};

/// The effective spec of a request: the request's values, then the project's, then the
/// server's defaults. A follow-up (parent given) starts from its parent's pull-request
/// branch when there is one. For the `script` agent the prompt is the script.
domain::task_spec resolve_spec(const api::create_task_request& request, const domain::project_state& project,
                               const task_entry* parent, const task_defaults& defaults);

/// True when `existing` was requested by the same command (what an idempotent retry must
/// match); times and ids aside.
bool same_request(const domain::task_state& existing, const domain::request_task& command);

/// How the code host names a repository: "owner/name" for a GitHub URL
/// (https://github.com/owner/name(.git), git@github.com:owner/name.git); anything else
/// (a local path, another host) as it is.
std::string code_host_repo(const std::string& repo);

/// A UUID-shaped identifier derived from `seed` (SHA-256): the same seed, the same id.
std::string derived_uuid(std::string_view seed);

/// The id of project `name` in `tenant`: names are unique per tenant because of it.
std::string project_id_for(const tenant_id& tenant, const std::string& name);

/// The id of the task an idempotency key asks for in `tenant`: retries land on its stream.
std::string task_id_for_key(const tenant_id& tenant, const std::string& key);

} // namespace aetherium::read_model
