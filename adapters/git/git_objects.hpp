#pragma once

// Internal to adapters/git: reading trees and writing commits as data, in repositories
// the host made itself. Git never sees a work tree here.

#include <map>
#include <string>

#include "adapters/git/git_command.hpp"
#include "adapters/git/workspace_tree.hpp"
#include "events/code_host.hpp"

namespace aetherium::git {

/// Every blob, link and submodule of `commit` in the repository at `git_dir`, by path.
/// Errors: not_found (no such commit), as run_git.
result<std::map<std::string, base_entry>> list_tree(const std::string& git_dir, const std::string& commit,
                                                    const git_limits& limits = {});

/// Author and committer of every commit the host makes: how it recognises its own.
inline constexpr const char* committer_identity = "Aetherium <aetherium@localhost>";

/// Makes one commit on `ref` in the repository at `git_dir` whose parent is `parent` and
/// whose tree is the parent's with `files` applied, streaming their bytes to
/// `git fast-import`; returns its id. The ref moves only forward: a ref that points
/// elsewhere than `parent` is refused. Every path is checked with valid_change_path first.
/// Errors: invalid_argument (bad path), conflict (the ref moved), as run_git.
result<std::string> commit_files(const std::string& git_dir, const std::string& ref, const std::string& parent,
                                 const std::string& message, const std::vector<file_change>& files,
                                 const git_limits& limits = {});

} // namespace aetherium::git
