#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium {

/// One changed file of an agent's output. Content is raw bytes (binary-safe).
struct file_change {
  enum class kind { added, modified, deleted };
  std::string path;    ///< Relative to the repository root, '/'-separated.
  kind change = kind::modified;
  std::string content; ///< New content; empty for deleted files; the target of a link.
  bool executable = false;
  bool symlink = false; ///< A symbolic link (git mode 120000): `content` is where it points.
};

/// Whether `path` may name a file of a change: relative, '/'-separated, no empty, "." or
/// ".." component, no NUL, and no component git treats as its own directory (".git" in
/// any case, with trailing dots or spaces, or its 8.3 alias "git~1"). Everything that
/// comes out of a sandbox is checked with this before the host writes or commits it.
bool valid_change_path(const std::string& path) noexcept;

/// Whether commit message `message` has a line equal to `line` (a marker such as
/// "Aetherium-Task: <id>").
bool has_marker_line(const std::string& message, const std::string& line) noexcept;

/// Whether two commit messages are the same once trailing newlines are ignored (git and
/// GitHub both add one).
bool same_commit_message(const std::string& a, const std::string& b) noexcept;

/// Whether one path component is git's own directory under any of its aliases.
bool is_git_dir_name(const std::string& component) noexcept;

/// Everything an agent changed in its workspace, relative to the base commit.
struct change_set {
  std::string base_commit;          ///< The commit the workspace was checked out at.
  std::vector<file_change> files;
  std::string patch;                ///< `git diff --binary` of the same change, for people.
  std::vector<std::string> ignored; ///< What was left out of the change, and why.
  std::size_t changed_bytes() const;
};

/// Where the work goes: a repository and the branch to push to.
struct pull_request_spec {
  std::string repo;        ///< "owner/name" on GitHub, or a path for the local host.
  std::string base_branch; ///< e.g. "main".
  std::string head_branch; ///< e.g. "aetherium/task-<id>".
  std::string title;
  std::string body;
  std::string commit_message;
  tenant_id tenant;        ///< Whose repository: local repositories must lie in its root.
};

/// A pull request as the code host knows it.
struct pull_request_ref {
  std::int64_t number = 0;
  std::string url;
  std::string head_branch;
  std::string head_commit; ///< The commit the branch points at after the push.
};

/// Turns change sets into commits on a branch and pull requests.
///
/// Both calls push exactly one new commit holding every file of `changes` on top of the
/// head branch (or of `changes.base_commit` when the branch does not exist yet), except
/// that open_pull_request pushes nothing when the head branch exists and its tip commit
/// has `spec.commit_message` already: an open interrupted after its push then only opens
/// the pull request.
/// Errors: invalid_argument (empty change set, bad names), not_found (no such repository
/// or pull request), conflict (the branch moved), unavailable (the host is unreachable or
/// rate-limited; the detail says when to retry), forbidden (the token lacks rights).
class code_host {
public:
  virtual ~code_host() = default;
  /// Creates the head branch with one commit and opens a pull request for it.
  virtual result<pull_request_ref> open_pull_request(const pull_request_spec& spec,
                                                     const change_set& changes) = 0;
  /// Pushes one more commit to the pull request's branch and updates its title and body.
  /// The pull request keeps the base branch it was opened against: `spec.base_branch` is
  /// not applied (a follow-up names the branch it started from, the pull request's head).
  virtual result<pull_request_ref> update_pull_request(const pull_request_spec& spec,
                                                       std::int64_t number,
                                                       const change_set& changes) = 0;
  /// The pull request, open or not, whose head is `spec.head_branch`; nothing when none is.
  /// How a publisher that was killed after opening one, before it recorded it, finds it.
  /// Errors: as open_pull_request.
  virtual result<std::optional<pull_request_ref>> find_pull_request(const pull_request_spec& spec) = 0;
  /// The newest commit among the last `depth` on `spec.head_branch` whose message has a
  /// line equal to `marker`; nothing when none has (or the branch does not exist). How a
  /// publisher that was killed after a push, before it recorded it, finds the push.
  virtual result<std::optional<std::string>> find_commit(const pull_request_spec& spec, const std::string& marker,
                                                          int depth = 50) = 0;
};

} // namespace aetherium
