#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "events/api/control_plane.hpp"
#include "events/github/webhook_decision.hpp"

namespace aetherium::github {

/// Finds the newest task that opened or updated pull request `number` of `repo`, in any
/// tenant. Errors: not_found (that pull request was not opened by Aetherium).
using pull_request_lookup =
  std::function<void(const std::string& repo, std::int64_t number, api::reply<api::task_view> done)>;

/// The idempotency key of the task a comment asks for: a redelivered comment names it again.
std::string follow_up_key(std::int64_t comment_id);

/// Turns a `/aetherium run` comment into a task: a child of the newest task on its pull
/// request (same tenant, project, agent, runtime, limits, budgets, network allow-list,
/// secret names and verify command), requested as "github:<author>" with
/// the comment's id as the idempotency key and the delivery as correlation id. A comment
/// whose task exists already is answered ok without a new request: once that task updated
/// the pull request it is the newest task there, so a redelivery would name a different
/// parent. Answers through `done`, once. Errors: those of `find_parent` and of
/// create_task.
void follow_up_on_comment(std::shared_ptr<api::control_plane> control, pull_request_lookup find_parent,
                          follow_up comment, std::function<void(result<void>)> done);

} // namespace aetherium::github
