#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/code_host.hpp"
#include "events/workspace.hpp"

namespace aetherium {

/// Workspaces as git checkouts made with the git CLI. After checkout the tree is handed to
/// `owner_uid`:`owner_gid` (the sandbox user) so the agent can write to it. Local
/// repositories (paths, file:// URLs) are cloned only from below `local_roots`; empty:
/// from anywhere (a single-user host).
std::shared_ptr<workspace_provider> make_git_workspace_provider(std::uint32_t owner_uid = 65534,
                                                                std::uint32_t owner_gid = 65534,
                                                                std::vector<std::string> local_roots = {});

/// A code host on the local disk: `pull_request_spec::repo` is the path of a bare
/// repository; a pull request is a branch pushed to it plus a record under
/// `<repo>/aetherium/pulls/<number>`. The embedded default when no GitHub token is set.
/// Only repositories below `local_roots` are written to; empty: any.
std::shared_ptr<code_host> make_local_git_code_host(std::string scratch_dir, std::vector<std::string> local_roots = {});

} // namespace aetherium

namespace aetherium {

/// Creates a bare repository at `path` whose branch `branch` holds one commit of `files`
/// (relative path -> content); does nothing and returns ok when `path` already is a
/// repository. For demos and tests. Errors: invalid_argument (no files), unavailable (git
/// cannot run), internal.
result<void> create_bare_repository(const std::string& path, const std::string& branch,
                                    const std::map<std::string, std::string>& files);

} // namespace aetherium
