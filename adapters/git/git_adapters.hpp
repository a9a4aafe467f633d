#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/api/validation.hpp"
#include "events/code_host.hpp"
#include "events/github/pull_request_comments.hpp"
#include "events/workspace.hpp"

namespace aetherium {

/// Which repositories the server may clone from and push to.
struct repository_policy {
  /// Local repositories (absolute paths, file:// URLs) only below `<root>/<tenant>/` of one
  /// of these roots. Empty: anywhere (a single-user host, tests).
  std::vector<std::string> local_roots;
  /// Hosts of https:// (and ssh) remotes, lowercase, with ":port" when not the default.
  std::vector<std::string> remote_hosts = {"github.com"};
  bool allow_ssh = false; ///< ssh:// and user@host:path remotes too.
};

/// Workspaces made from git repositories with the git CLI, which only ever runs over a
/// repository the host keeps beside the workspace (`<dir>.git`), never inside it: the
/// sandbox sees plain files. The tree is written into a tmpfs of the request's size and
/// handed to `owner_uid`:`owner_gid` (the sandbox user); changes are read back as data.
std::shared_ptr<workspace_provider> make_git_workspace_provider(std::uint32_t owner_uid = 65534,
                                                                std::uint32_t owner_gid = 65534,
                                                                repository_policy policy = {});

/// A code host on the local disk: `pull_request_spec::repo` is the path of a bare
/// repository; a pull request is a branch committed to it (as data, with git fast-import)
/// plus a record under `<repo>/aetherium/pulls/<number>`. The embedded default when no
/// GitHub token is set. Only repositories `policy` allows for the spec's tenant are written.
std::shared_ptr<code_host> make_local_git_code_host(repository_policy policy = {});

/// The comments of the local code host's pull requests, as files beside each pull
/// request's record; null unless `host` came from make_local_git_code_host.
std::shared_ptr<github::pull_request_comments> local_git_comments(const std::shared_ptr<code_host>& host);

/// The check the API applies when a project or task names a repository: the same rules
/// the workspace provider and the local code host apply when a task runs.
api::repository_check make_repository_check(repository_policy policy);

} // namespace aetherium

namespace aetherium {

/// Creates a bare repository at `path` whose branch `branch` holds one commit of `files`
/// (relative path -> content); does nothing and returns ok when `path` already is a
/// repository. For demos and tests. Errors: invalid_argument (no files), unavailable (git
/// cannot run), internal.
result<void> create_bare_repository(const std::string& path, const std::string& branch,
                                    const std::map<std::string, std::string>& files);

} // namespace aetherium
