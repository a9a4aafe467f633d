#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/code_host.hpp"

namespace aetherium::testing {

/// A file as the code host stores it.
struct stored_file {
  std::string content;
  bool executable = false;
  bool operator==(const stored_file& o) const { return content == o.content && executable == o.executable; }
};

/// The tip of a branch: its commit, that commit's parents, and every file in its tree.
struct branch_tip {
  std::string commit;
  std::vector<std::string> parents;
  std::map<std::string, stored_file> files;
};

/// One code host under test with a fresh place to create repositories. Each backend file
/// defines make_backend().
struct code_host_backend {
  virtual ~code_host_backend() = default;
  /// Why the backend could not be set up, or empty.
  virtual std::string setup_error() = 0;
  virtual std::shared_ptr<code_host> host() = 0;
  /// Creates a repository whose branch `main` has one commit with `files`; returns the
  /// name to put in pull_request_spec::repo and sets `base_commit`.
  virtual std::string create_repo(const std::map<std::string, std::string>& files, std::string& base_commit) = 0;
  /// A repository name that does not exist.
  virtual std::string missing_repo() = 0;
  /// The tip of `branch`, or nothing when it does not exist.
  virtual std::optional<branch_tip> tip(const std::string& repo, const std::string& branch) = 0;
  /// The body of pull request `number`, or nothing when there is no such pull request.
  virtual std::optional<std::string> pull_body(const std::string& repo, std::int64_t number) = 0;
  /// The base branch of pull request `number`, or nothing when there is no such pull request.
  virtual std::optional<std::string> pull_base(const std::string& repo, std::int64_t number) = 0;
  /// Protocol problems the host caused (malformed requests), one per line; empty if none.
  virtual std::vector<std::string> problems() = 0;
};

std::unique_ptr<code_host_backend> make_backend();

} // namespace aetherium::testing
