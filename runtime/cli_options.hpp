#pragma once

#include <string>

#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// Checks that every option of `cmd` is one its command takes (the settings of the
/// binary, the client options for client commands, and the command's own). Errors:
/// invalid_argument whose field is the option as typed ("--timout") and whose detail
/// names it, with the nearest known option when one is close ("did you mean --timeout?").
result<void> check_options(const command_line& cmd);

/// The help of `cmd`'s command (`task create --help` lists every option of task create);
/// empty when the command has none of its own and the general usage applies.
std::string command_help(const command_line& cmd);

} // namespace aetherium::runtime
