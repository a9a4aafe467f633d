#pragma once

// Message vocabulary between actors. Included only by actor .cpp files and their tests;
// it pulls in CAF's atom header and nothing heavier.

#include <cstdint>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "events/event_store.hpp"

namespace aetherium::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using sandbox_atom = caf::atom_constant<caf::atom("sandbox")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using actor_atom = caf::atom_constant<caf::atom("actor")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>;
using model_atom = caf::atom_constant<caf::atom("model")>;
using tree_atom = caf::atom_constant<caf::atom("tree")>;

/// Reply to an append: where it landed, or why not.
using append_outcome = result<append_result>;
/// Reply to a load: a stream's events, or why they could not be read.
using load_outcome = result<std::vector<recorded_event>>;

} // namespace aetherium::actors

// In-process only: these never cross a network boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::append_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::append_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::load_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::stream_id)
