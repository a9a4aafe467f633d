#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <utility>

#include <caf/fwd.hpp>

#include "events/event_store.hpp"
#include "events/projection.hpp"

namespace aetherium::actors {

/// A question to a read model: runs inside the projector, with the model at a consistent
/// position, and must not block or keep the reference.
using projection_query = std::function<void(const projection&)>;

/// Reads a projector's model from any thread, without a message: the projector folds
/// under an exclusive lock, readers share it. A query run from inside another query on
/// the same thread reuses the lock it holds.
class projection_reader {
public:
  explicit projection_reader(std::shared_ptr<projection> model) : model_(std::move(model)) {}
  /// Runs `query` against the model at a consistent position. It must not block.
  void read(const projection_query& query) const;
  /// Runs `fold` with the model locked for writing (the projector's side).
  void write(const std::function<void(projection&)>& fold);

private:
  std::shared_ptr<projection> model_;
  mutable std::shared_mutex mtx_;
};

/// When and how a projector checkpoints its model. A checkpoint is taken in two steps:
/// `capture` runs inside the projector (the fold waits for it, so it only copies), and the
/// job it returns encodes and saves the copy on a thread of its own, off the scheduler,
/// while the fold goes on. One save runs at a time; a save that comes due meanwhile waits
/// for the next event or tick.
struct checkpoint_policy {
  std::size_t every_events = 0;            ///< Save after this many events folded (0: never by count).
  std::chrono::milliseconds every{0};      ///< Save this often when events were folded (0: never by time).
  /// Copies what must be saved; the returned job saves it and may block. Null: no checkpoints.
  std::function<std::function<void()>(const projection&)> capture;
};

/// Spawns a projector: it subscribes to `store` after the model's position (replaying the
/// log at start, then following it live), applies each event to `model` in order, and
/// answers (get_atom, projection_query) by running the query against the model.
/// (get_atom, int64 position) replies once the model has reached that position, so a
/// writer can read its own writes.
caf::actor spawn_projector(caf::actor_system& sys, std::shared_ptr<event_store> store,
                           std::unique_ptr<projection> model);

/// The same, and a reader of its model for queries that need no message round trip. With a
/// `checkpoints` policy it also saves its model now and then, and (checkpoint_atom) saves
/// it at once (when anything was folded since the last save) and replies true once saved.
std::pair<caf::actor, std::shared_ptr<projection_reader>>
spawn_readable_projector(caf::actor_system& sys, std::shared_ptr<event_store> store, std::unique_ptr<projection> model,
                         checkpoint_policy checkpoints = {});

} // namespace aetherium::actors
