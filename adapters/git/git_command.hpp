#pragma once

// Internal to adapters/git.

#include <string>
#include <vector>

#include "events/result.hpp"

namespace aetherium::git {

/// Output of a finished git command.
struct git_output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `git <args>` (no shell) in `cwd` with `input` on stdin and waits for it. Adds
/// `-c safe.directory=*` (workspaces belong to the sandbox user) and a fixed identity.
/// Errors: unavailable when git cannot be started; a non-zero exit is not an error here.
result<git_output> run_git(const std::vector<std::string>& args, const std::string& cwd = ".",
                           const std::string& input = {});

/// Like run_git, but a non-zero exit becomes an error whose detail carries git's stderr:
/// not_found for missing repositories or refs, unavailable for network failures,
/// internal otherwise.
result<std::string> git_ok(const std::vector<std::string>& args, const std::string& cwd = ".",
                           const std::string& input = {});

/// Whether the server may clone or push to `repo`. Remote URLs (a scheme other than
/// file://, or scp-like host:path) always may. A local repository (a path or a file:// URL)
/// may only when `roots` is empty (no restriction) or it lies below one of `roots` once
/// symbolic links and ".." are resolved: otherwise one tenant's project could name any
/// repository on the server, another tenant's included.
/// Errors: forbidden (outside the roots), invalid_argument (a relative local path).
result<void> check_repository_location(const std::string& repo, const std::vector<std::string>& roots);

} // namespace aetherium::git
