#pragma once

#include <memory>

#include "events/sandbox_runtime.hpp"

namespace aetherium {

/// A sandbox runtime without sandboxes, for unit tests of what drives one. It keeps each
/// sandbox's /workspace files in memory and understands a few commands:
///   echo ARGS...     prints ARGS joined by spaces and a newline, exit 0
///   env              prints NAME=VALUE lines: the request's env, and for a spec with a
///                    gateway_socket AETHERIUM_MODEL_GATEWAY=unix:<gateway_socket>
///   true / false     exit 0 / exit 1
///   exit N           exit N
///   sleep            blocks until the deadline (timed_out) or cancel (cancelled)
///   write PATH TEXT  writes TEXT to PATH in the workspace, exit 0
/// Anything else does not run: exit 127 with not_executed set and "command not found" on
/// stderr, like a shell.
std::shared_ptr<sandbox_runtime> make_memory_sandbox_runtime();

} // namespace aetherium
