#pragma once

#include "runtime/config.hpp"

namespace aetherium::runtime {

/// `aetherium demo`: starts the server with the embedded defaults, runs one task with the
/// script agent on a sample repository, and prints its log, its pull request's commit and
/// its event history. Exits 0 when the task completed with its pull request.
int run_demo(const command_line& cmd, config cfg);

} // namespace aetherium::runtime
