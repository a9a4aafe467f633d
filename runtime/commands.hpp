#pragma once

#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// Exit codes of the aetherium binary.
enum exit_code : int { exit_ok = 0, exit_failure = 1, exit_usage = 2 };

/// `aetherium migrate up|down|status`.
int run_migrate(const command_line& cmd, const config& cfg);

/// `aetherium events verify`: walks the log and checks the hash chain.
int run_events(const command_line& cmd, const config& cfg);

/// `aetherium replay [--verify]`: folds the whole log into fresh projections, checks them
/// against each task's own stream, and (with --verify) the hash chain.
int run_replay(const command_line& cmd, const config& cfg);

/// Prints `message` and the usage text to stderr; returns exit_usage.
int usage_error(const std::string& message);

/// Prints `aetherium: <code>: <detail>` to stderr; returns exit_failure.
int report_error(const error& err);

} // namespace aetherium::runtime
