#pragma once

#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "events/event_store.hpp"
#include "events/projection.hpp"

namespace aetherium::actors {

/// A question to a read model: runs inside the projector, with the model at a consistent
/// position, and must not block or keep the reference.
using projection_query = std::function<void(const projection&)>;

/// Spawns a projector: it subscribes to `store` after the model's position (replaying the
/// log at start, then following it live), applies each event to `model` in order, and
/// answers (get_atom, projection_query) by running the query against the model.
/// (get_atom, int64 position) replies once the model has reached that position, so a
/// writer can read its own writes.
caf::actor spawn_projector(caf::actor_system& sys, std::shared_ptr<event_store> store,
                           std::unique_ptr<projection> model);

} // namespace aetherium::actors
