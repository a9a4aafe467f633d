#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "events/api/control_plane.hpp"
#include "events/clock.hpp"
#include "events/read_model/task_requests.hpp"
#include "events/event_store.hpp"
#include "events/scheduling/node_registry.hpp"
#include "events/task_log.hpp"

namespace aetherium::actors {

class projection_reader;

/// The actors and ports the control plane talks to.
struct control_plane_parts {
  caf::actor tasks;      ///< spawn_task_registry
  caf::actor projects;   ///< spawn_project_registry
  caf::actor board;      ///< a projector over read_model::task_board
  caf::actor dispatcher; ///< spawn_task_dispatcher: told (run_atom, id) and (cancel_atom, id)
  caf::actor scheduler;  ///< spawn_scheduler: asked for the node list
  std::shared_ptr<task_log> logs;
  std::shared_ptr<event_store> store; ///< For readiness, task histories and the audit feed.
  std::shared_ptr<clock> time;
  std::shared_ptr<id_generator> ids;
  read_model::task_defaults defaults;
  /// The board's reader (spawn_readable_projector): queries then run on the caller's
  /// thread under a shared lock instead of a message to the projector. May be null.
  std::shared_ptr<projection_reader> board_reader;
  /// The runtimes some node offers: a task naming another is refused (400) instead of
  /// accepted and failed later. Empty: not checked.
  std::vector<std::string> runtimes;
  /// Nodes and join tokens in the log: GET /v1/nodes lists the nodes it knows, drain and
  /// remove record there. Null: the scheduler's nodes only, nothing recorded.
  std::shared_ptr<node_registry> nodes;
};

/// The control plane, plus what the GitHub loop asks of it.
class task_control_plane : public api::control_plane {
public:
  /// The newest task that opened or updated pull request `number` of `repo` ("owner/name"
  /// or a local repository path), in any tenant: the parent of a `/aetherium run`
  /// follow-up. Errors: not_found (that pull request was not opened by Aetherium).
  virtual void find_by_pull_request(const std::string& repo, std::int64_t number, api::reply<api::task_view> done) = 0;
  /// Tasks of every tenant by status (api names), from the board: for /metrics.
  virtual void count_tasks_by_status(std::function<void(std::map<std::string, std::size_t>)> done) = 0;
};

/// The control plane over the event-sourced actors: commands go to the task and project
/// actors (persist, then reply), reads come from the task board projection, except task
/// histories and the audit feed, which are read in pages from the log (off the scheduler). A write answers once the board has folded it, so a client reads its own
/// writes. Idempotency keys are durable: the task id is derived from (tenant, key), so a
/// retry after a restart finds the same task stream.
std::shared_ptr<task_control_plane> make_actor_control_plane(caf::actor_system& sys, control_plane_parts parts);

} // namespace aetherium::actors
