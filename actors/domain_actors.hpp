#pragma once

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "events/clock.hpp"
#include "events/domain/codec.hpp"

namespace aetherium::actors {

/// Spawns the registry of task actors (stream "task-<id>"): one aggregate actor per live
/// task, started from its stream on demand, passivated after `idle`. Messages are those of
/// aggregate_registry (actors/aggregate_actor.hpp) with domain::task as the aggregate; the
/// message types are declared in actors/domain_messages.hpp.
caf::actor spawn_task_registry(caf::actor_system& sys, caf::actor journal, std::shared_ptr<id_generator> ids,
                               std::shared_ptr<const domain::task_codec> codec,
                               std::chrono::milliseconds idle = std::chrono::minutes(5));

/// The same for projects (stream "project-<id>").
caf::actor spawn_project_registry(caf::actor_system& sys, caf::actor journal, std::shared_ptr<id_generator> ids,
                                  std::shared_ptr<const domain::project_codec> codec,
                                  std::chrono::milliseconds idle = std::chrono::minutes(5));

} // namespace aetherium::actors
