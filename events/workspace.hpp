#pragma once

#include <memory>
#include <string>

#include "events/code_host.hpp"
#include "events/result.hpp"

namespace aetherium {

/// Prepares task workspaces from repositories and reads back what an agent changed.
///
/// Errors: invalid_argument (bad repository or ref), not_found (repository or ref missing),
/// unavailable (the repository cannot be reached), internal.
class workspace_provider {
public:
  virtual ~workspace_provider() = default;

  /// Clones `repo` (an https URL, a local path or a bare repository) into `dir`, which
  /// must not exist, and checks out `ref` (branch, tag or commit). Returns the commit id.
  virtual result<std::string> checkout(const std::string& repo, const std::string& ref,
                                       const std::string& dir) = 0;

  /// Everything changed in the checkout at `dir` since `base_commit`: added, modified and
  /// deleted files, tracked or not, except under `.aetherium/`. Errors: invalid_argument
  /// when the change is larger than `max_bytes`.
  virtual result<change_set> collect(const std::string& dir, const std::string& base_commit,
                                     std::size_t max_bytes) = 0;

  /// Writes `changes` into the checkout at `dir` (used to replay an agent's output in a
  /// fresh checkout for verification).
  virtual result<void> apply(const std::string& dir, const change_set& changes) = 0;
};

} // namespace aetherium
