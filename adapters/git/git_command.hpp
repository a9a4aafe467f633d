#pragma once

// Internal to adapters/git.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "adapters/git/git_adapters.hpp"
#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::git {

using aetherium::repository_policy;

/// Output of a finished git command.
struct git_output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// When a git command must stop: past `deadline`, or once `cancelled` returns true (polled
/// every 50 ms). Git and every process it started are then killed.
struct git_limits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<bool()> cancelled;
};

/// Runs `git <args>` (no shell) in `cwd` with `input` on stdin and waits for it, in a
/// process group of its own. Only the file and https transports (and ssh when
/// `allow_ssh(true)` was called) are allowed; no prompt for credentials; hooks and
/// fsmonitor off. The host only ever runs git over repositories it made itself, never
/// over a directory a sandbox could write.
/// Errors: unavailable when git cannot be started, or was killed at the deadline or on
/// cancel (the detail says which); a non-zero exit is not an error here.
result<git_output> run_git(const std::vector<std::string>& args, const std::string& cwd = ".",
                           const std::string& input = {}, const git_limits& limits = {});

/// Like run_git, but a non-zero exit becomes an error whose detail carries git's stderr:
/// not_found for missing repositories or refs, unavailable for network failures,
/// internal otherwise.
result<std::string> git_ok(const std::vector<std::string>& args, const std::string& cwd = ".",
                           const std::string& input = {}, const git_limits& limits = {});

/// Lets git use ssh for every later command of this process (an operator setting).
void allow_ssh(bool allowed);

/// Whether the server may clone or push to `repo` for `tenant`. Remote URLs must be
/// https:// (or ssh when allowed) to a host of the policy; every other transport (git://,
/// http://, ext::, fd::, ...) is refused. A local repository must lie below
/// `<root>/<tenant>/` of one of the roots once symbolic links and ".." are resolved, so one
/// tenant's project can never name another tenant's repository.
/// Errors: forbidden (outside the tenant's roots, a host not allowed), invalid_argument
/// (a relative path, a transport not allowed, a bad tenant).
result<void> check_repository(const std::string& repo, const tenant_id& tenant, const repository_policy& policy);

} // namespace aetherium::git
