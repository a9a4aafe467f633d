#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "events/code_host.hpp"
#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium {

/// One workspace to prepare, and what bounds the work.
struct checkout_request {
  std::string repo;             ///< An https URL or a local path (see the provider's policy).
  std::string ref;              ///< Branch, tag or commit.
  std::string dir;              ///< Absolute; must not exist.
  tenant_id tenant;             ///< Whose repository: local ones must lie in the tenant's root.
  std::uint64_t disk_bytes = 0; ///< Size of the workspace's own filesystem; 0: a plain directory.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<bool()> cancelled; ///< Polled while the repository is fetched; true stops it.
};

/// The task's own files an agent finds in `.aetherium/` of its workspace.
struct task_files {
  std::string prompt; ///< Written to prompt.md.
  std::string script; ///< Written to script.sh, when not empty.
  /// A follow-up's pull request conversation (description and comments), written to
  /// conversation.md when not empty.
  std::string conversation;
  /// Files of the agent's home directory, `.aetherium/home` (which is always made): path
  /// relative to it -> content. Paths are plain relative paths without "." or "..".
  std::map<std::string, std::string> home_files;
};

/// A file an agent's CLI left in its home directory, read back as data.
struct agent_file {
  std::string name;
  std::string content;
  std::int64_t mtime_ns = 0;
};

/// Prepares task workspaces from repositories and reads back what an agent changed.
///
/// A workspace is hostile once a sandbox has run in it: implementations keep their own
/// repository metadata out of it, read it only as bounded data, never follow its links,
/// and never run a tool over it.
///
/// Errors: invalid_argument (bad repository or ref, a transport not allowed), forbidden
/// (another tenant's repository, a host not allowed), not_found (repository or ref
/// missing), unavailable (the repository cannot be reached, the deadline passed, cancelled),
/// internal.
class workspace_provider {
public:
  virtual ~workspace_provider() = default;

  /// Checks the request and makes the empty workspace at `request.dir` (its filesystem of
  /// `disk_bytes`, and the directories above it), so a sandbox can be provisioned over it while checkout() fills it.
  /// Errors: as checkout, for what can be known without fetching.
  virtual result<void> prepare(const checkout_request& request) = 0;

  /// Fetches `request.repo` and writes the tree at `request.ref` into `request.dir`, owned
  /// by the sandbox user; `request.dir` must not exist, or be what prepare() made for the
  /// same request. Returns the commit id.
  virtual result<std::string> checkout(const checkout_request& request) = 0;

  /// Writes `files` into `.aetherium/` of the checkout at `dir`, owned by the sandbox user,
  /// after removing whatever the repository had there (links included).
  /// Errors: unavailable (they cannot be written).
  virtual result<void> write_task_files(const std::string& dir, const task_files& files) = 0;

  /// Everything changed in the workspace at `dir` since `base_commit`: added, modified and
  /// deleted files and links, except `.aetherium/`, directories named like git's own and
  /// special files (listed in `change_set::ignored`). Errors: invalid_argument (field
  /// max_changed_bytes) when the change is larger than `max_bytes`.
  virtual result<change_set> collect(const std::string& dir, const std::string& base_commit,
                                     std::size_t max_bytes) = 0;

  /// Writes `changes` into the checkout at `dir` (used to replay an agent's output in a
  /// fresh checkout for verification). Errors: invalid_argument (a bad path).
  virtual result<void> apply(const std::string& dir, const change_set& changes) = 0;

  /// Writes the change `patch` makes (a patch collect() made over `base_commit`) into the
  /// checkout at `dir`, which checkout() made at `base_commit`, and returns that change:
  /// how a task whose agent's output was stored resumes after a restart.
  /// Errors: invalid_argument (the patch does not apply), as checkout.
  virtual result<change_set> replay(const std::string& dir, const std::string& base_commit,
                                    const std::string& patch) = 0;

  /// Errors: invalid_argument (field disk_bytes) when the workspace's filesystem is full:
  /// whatever the agent did last, it ran out of its disk limit.
  virtual result<void> check_space(const std::string& dir) = 0;

  /// The regular files directly in `.aetherium/home/<rel_dir>` of the workspace at `dir`,
  /// newest first, as many of the newest as fit in `max_bytes` together. Links,
  /// directories and special files are skipped and nothing is followed; a missing
  /// directory gives none. (What a CLI keeps between runs, such as its sessions.)
  virtual result<std::vector<agent_file>> read_agent_files(const std::string& dir, const std::string& rel_dir,
                                                            std::size_t max_bytes) {
    (void)dir, (void)rel_dir, (void)max_bytes;
    return std::vector<agent_file>{};
  }

  /// The names of the entries directly under `root`: the workspaces there and what is kept
  /// beside them (for the clean-up at start). Empty when `root` cannot be read.
  virtual std::vector<std::string> list(const std::string& root) = 0;

  /// Removes the workspace at `dir` and everything kept for it. Safe to call twice.
  virtual void release(const std::string& dir) = 0;
};

} // namespace aetherium
