#pragma once

#include <memory>

#include "events/read_model/board_checkpoint.hpp"

namespace aetherium {

/// The task board's checkpoint encoding: the SHA-256 of the body in hex, a newline, then the
/// body, a JSON object of tasks, projects and the pull-request index. The checksum makes a
/// damaged checkpoint fail to decode instead of loading a wrong state.
std::shared_ptr<const read_model::board_state_codec> make_json_board_codec();

} // namespace aetherium
