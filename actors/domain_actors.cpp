#include "actors/domain_actors.hpp"

#include "actors/domain_messages.hpp"

namespace aetherium::actors {

caf::actor spawn_task_registry(caf::actor_system& sys, caf::actor journal, std::shared_ptr<id_generator> ids,
                               std::shared_ptr<const domain::task_codec> codec, std::chrono::milliseconds idle) {
  return sys.spawn(aggregate_registry<domain::task, domain::task_codec>, std::move(journal), std::move(ids),
                   std::move(codec), idle);
}

caf::actor spawn_project_registry(caf::actor_system& sys, caf::actor journal, std::shared_ptr<id_generator> ids,
                                  std::shared_ptr<const domain::project_codec> codec,
                                  std::chrono::milliseconds idle) {
  return sys.spawn(aggregate_registry<domain::project, domain::project_codec>, std::move(journal), std::move(ids),
                   std::move(codec), idle);
}

} // namespace aetherium::actors
