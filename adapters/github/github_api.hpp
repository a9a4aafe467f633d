#pragma once

// Internal to adapters/github: the REST operations the code host and the commenter use,
// typed, with GitHub's statuses already turned into errc values.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapters/github/github_rest.hpp"
#include "events/code_host.hpp"

namespace aetherium::github {

/// "owner/name", split and checked.
struct repo_name {
  std::string owner;
  std::string name;
  std::string path() const { return "/repos/" + encode_path(owner) + "/" + encode_path(name); }
  std::string full() const { return owner + "/" + name; }
};

/// Errors: invalid_argument unless `full` is "owner/name" of [A-Za-z0-9._-] characters.
result<repo_name> parse_repo(const std::string& full);

/// One entry of a new tree: a blob at `path`, or (no sha) the deletion of `path`.
struct tree_entry {
  std::string path;
  std::string mode = "100644";
  std::optional<std::string> sha;
};

/// The parts of a pull request the code host needs.
struct pull_info {
  std::int64_t number = 0;
  std::string url; ///< html_url
  std::string state;
  std::string head_ref;
  std::string head_sha;
  std::string title;
  std::string body;
};

/// One comment of an issue or pull request.
struct comment_info {
  std::int64_t id = 0;
  std::string author; ///< user.login
  std::string author_association; ///< OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ...
  std::string body;
};

/// Status mapping (besides retries done by github_rest): 400 → invalid_argument,
/// 401/403 → forbidden, 404 → not_found, 409 → conflict, 422 → conflict on refs and
/// invalid_argument elsewhere, anything else unexpected → internal.
class github_api {
public:
  explicit github_api(github_options options) : rest_(std::move(options)) {}

  result<void> get_repository(const repo_name& repo);
  /// The commit refs/heads/<branch> points at, or nothing when the branch does not exist.
  result<std::optional<std::string>> find_branch(const repo_name& repo, const std::string& branch);
  /// The head commit of `branch` (GET .../branches/{branch}).
  result<std::string> branch_commit(const repo_name& repo, const std::string& branch);
  /// The tree of `commit` (GET .../git/commits/{sha}).
  result<std::string> commit_tree(const repo_name& repo, const std::string& commit);
  result<std::string> create_blob(const repo_name& repo, const std::string& content);
  result<std::string> create_tree(const repo_name& repo, const std::string& base_tree,
                                  const std::vector<tree_entry>& entries);
  result<std::string> create_commit(const repo_name& repo, const std::string& message, const std::string& tree,
                                    const std::string& parent);
  /// Creates refs/heads/<branch> at `sha`; succeeds if it already points there.
  result<void> create_ref(const repo_name& repo, const std::string& branch, const std::string& sha);
  /// Moves refs/heads/<branch> to `sha`, fast-forward only (conflict otherwise).
  result<void> update_ref(const repo_name& repo, const std::string& branch, const std::string& sha);
  result<pull_info> create_pull(const repo_name& repo, const pull_request_spec& spec);
  result<pull_info> get_pull(const repo_name& repo, std::int64_t number);
  result<pull_info> update_pull(const repo_name& repo, std::int64_t number, const std::string& title,
                                const std::string& body);
  result<std::int64_t> add_comment(const repo_name& repo, std::int64_t number, const std::string& body);
  /// The newest pull request, open or closed, whose head is `branch` of the repository's
  /// owner (GET .../pulls?head=owner:branch&state=all); nothing when none is.
  result<std::optional<pull_info>> find_pull(const repo_name& repo, const std::string& branch);
  /// Up to `depth` commits of `branch`, newest first: (sha, message) (GET .../commits?sha=).
  result<std::vector<std::pair<std::string, std::string>>> list_commits(const repo_name& repo,
                                                                        const std::string& branch, int depth);
  /// The message of `commit` (GET .../git/commits/{sha}).
  result<std::string> commit_message(const repo_name& repo, const std::string& commit);
  /// The first 100 comments of issue or pull request `number`, oldest first.
  result<std::vector<comment_info>> list_comments(const repo_name& repo, std::int64_t number);

private:
  /// Sends and maps any status outside `ok` to an error naming `what`.
  result<rest_response> expect(const std::string& method, const std::string& path, const std::string& body,
                               std::initializer_list<long> ok, const std::string& what, bool on_ref = false);

  github_rest rest_;
};

/// Standard base64 (RFC 4648, with padding) of raw bytes.
std::string base64_encode(const std::string& bytes);

} // namespace aetherium::github
