#pragma once

// Messages to and from the task and project registries. Included only by actor .cpp
// files: it pulls in all of CAF through aggregate_actor.hpp.

#include "actors/aggregate_actor.hpp"
#include "events/domain/project.hpp"
#include "events/domain/task.hpp"

namespace aetherium::actors {

using task_reply = command_reply<domain::task>;
using project_reply = command_reply<domain::project>;

} // namespace aetherium::actors

// In-process only: these never cross a network boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::domain::task_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::domain::project_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::command_context)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::task_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::project_reply)
