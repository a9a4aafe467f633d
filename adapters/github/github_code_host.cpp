// The code_host port and the pull_request_comments port on the GitHub REST API.
#include <algorithm>
#include <memory>

#include "adapters/github/github_adapters.hpp"
#include "adapters/github/github_api.hpp"
#include "events/github/webhook_decision.hpp"

namespace aetherium {

namespace {

using github::github_api;
using github::repo_name;

/// Errors: invalid_argument unless `branch` is a plausible git branch name.
result<void> check_branch(const std::string& branch, const char* field) {
  bool bad = branch.empty() || branch.front() == '-' || branch.front() == '/' || branch.back() == '/'
             || branch.find("..") != std::string::npos || branch.find("//") != std::string::npos
             || branch.find("@{") != std::string::npos;
  for (unsigned char c : branch)
    bad = bad || c <= ' ' || c == 0x7f || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '['
          || c == '\\';
  if (bad || (branch.size() >= 5 && branch.compare(branch.size() - 5, 5, ".lock") == 0))
    return make_error(errc::invalid_argument, "bad branch name: " + branch, field);
  return {};
}

/// Errors: invalid_argument for an empty change set or a path outside the repository.
result<void> check_changes(const change_set& changes) {
  if (changes.files.empty())
    return make_error(errc::invalid_argument, "the change set is empty", "files");
  for (auto& f : changes.files) {
    auto& p = f.path;
    bool bad = p.empty() || p.front() == '/' || p.back() == '/' || p == ".." || p.rfind("../", 0) == 0
               || p.find("/../") != std::string::npos || p.find("//") != std::string::npos
               || (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0) || p.find('\0') != std::string::npos;
    if (bad)
      return make_error(errc::invalid_argument, "bad path in change set: " + p, "files");
  }
  return {};
}

class github_code_host final : public code_host, public github::pull_request_comments {
public:
  explicit github_code_host(github_options options) : api_(std::move(options)) {}

  // code_host

  result<pull_request_ref> open_pull_request(const pull_request_spec& spec, const change_set& changes) override {
    auto repo = validate(spec, changes);
    if (!repo)
      return repo.err();
    if (auto found = api_.get_repository(*repo); !found)
      return found.err();
    auto head = api_.find_branch(*repo, spec.head_branch);
    if (!head)
      return head.err();
    // An open interrupted after its push left the branch at that very commit: only the
    // pull request is missing.
    if (head->has_value()) {
      auto message = api_.commit_message(*repo, **head);
      if (!message)
        return message.err();
      if (same_commit_message(*message, commit_message_of(spec))) {
        auto pull = api_.create_pull(*repo, spec);
        if (!pull)
          return pull.err();
        return pull_request_ref{pull->number, pull->url, spec.head_branch, **head};
      }
    }
    auto parent = head->has_value() ? result<std::string>{**head} : start_point(*repo, spec, changes);
    if (!parent)
      return parent.err();
    auto commit = push_commit(*repo, spec, changes, *parent);
    if (!commit)
      return commit.err();
    auto moved = head->has_value() ? api_.update_ref(*repo, spec.head_branch, *commit)
                                   : api_.create_ref(*repo, spec.head_branch, *commit);
    if (!moved)
      return moved.err();
    auto pull = api_.create_pull(*repo, spec);
    if (!pull)
      return pull.err();
    return pull_request_ref{pull->number, pull->url, spec.head_branch, *commit};
  }

  result<pull_request_ref> update_pull_request(const pull_request_spec& spec, std::int64_t number,
                                               const change_set& changes) override {
    auto repo = validate(spec, changes);
    if (!repo)
      return repo.err();
    auto pull = api_.get_pull(*repo, number);
    if (!pull)
      return pull.err();
    if (pull->head_ref != spec.head_branch)
      return make_error(errc::invalid_argument, "pull request " + std::to_string(number) + " is on branch "
                                                    + pull->head_ref + ", not " + spec.head_branch, "head_branch");
    auto head = api_.find_branch(*repo, spec.head_branch);
    if (!head)
      return head.err();
    if (!*head)
      return make_error(errc::not_found, "branch " + spec.head_branch + " of pull request "
                                             + std::to_string(number) + " no longer exists");
    auto commit = push_commit(*repo, spec, changes, **head);
    if (!commit)
      return commit.err();
    if (auto moved = api_.update_ref(*repo, spec.head_branch, *commit); !moved)
      return moved.err();
    auto updated = api_.update_pull(*repo, number, spec.title, spec.body);
    if (!updated)
      return updated.err();
    return pull_request_ref{number, updated->url, spec.head_branch, *commit};
  }

  result<std::optional<pull_request_ref>> find_pull_request(const pull_request_spec& spec) override {
    if (auto b = check_branch(spec.head_branch, "head_branch"); !b)
      return b.err();
    auto repo = github::parse_repo(spec.repo);
    if (!repo)
      return repo.err();
    auto pull = api_.find_pull(*repo, spec.head_branch);
    if (!pull)
      return pull.err();
    if (!*pull)
      return std::optional<pull_request_ref>{};
    return std::optional<pull_request_ref>{
      pull_request_ref{(*pull)->number, (*pull)->url, spec.head_branch, (*pull)->head_sha}};
  }

  result<std::optional<std::string>> find_commit(const pull_request_spec& spec, const std::string& marker,
                                                 int depth) override {
    if (marker.empty() || marker.find('\n') != std::string::npos)
      return make_error(errc::invalid_argument, "the marker must be one non-empty line", "marker");
    if (auto b = check_branch(spec.head_branch, "head_branch"); !b)
      return b.err();
    auto repo = github::parse_repo(spec.repo);
    if (!repo)
      return repo.err();
    auto commits = api_.list_commits(*repo, spec.head_branch, depth);
    if (!commits)
      return commits.err();
    for (auto& [sha, message] : *commits)
      if (has_marker_line(message, marker))
        return std::optional<std::string>{sha};
    return std::optional<std::string>{};
  }

  // github::pull_request_comments

  result<std::int64_t> add_comment(const std::string& repo_full, std::int64_t number, const std::string& body) override {
    auto repo = github::parse_repo(repo_full);
    if (!repo)
      return repo.err();
    if (body.empty())
      return make_error(errc::invalid_argument, "the comment is empty", "body");
    return api_.add_comment(*repo, number, body);
  }

  result<std::optional<std::int64_t>> find_comment(const std::string& repo_full, std::int64_t number,
                                                   const std::string& marker) override {
    auto repo = github::parse_repo(repo_full);
    if (!repo)
      return repo.err();
    auto comments = api_.list_comments(*repo, number);
    if (!comments)
      return comments.err();
    for (auto it = comments->rbegin(); it != comments->rend(); ++it)
      if (it->body.find(marker) != std::string::npos)
        return std::optional<std::int64_t>{it->id};
    return std::optional<std::int64_t>{};
  }

  result<std::string> conversation(const std::string& repo_full, std::int64_t number) override {
    auto repo = github::parse_repo(repo_full);
    if (!repo)
      return repo.err();
    auto pull = api_.get_pull(*repo, number);
    if (!pull)
      return pull.err();
    auto comments = api_.list_comments(*repo, number);
    if (!comments)
      return comments.err();
    // Anyone may comment on a public repository: only those with write access (who may
    // also run commands) reach the agent, so an outsider cannot steer a follow-up.
    std::vector<std::pair<std::string, std::string>> said;
    for (auto& c : *comments)
      if (github::may_run_commands(c.author_association))
        said.emplace_back(c.author, c.body);
    return github::conversation_markdown(pull->title, pull->body, said);
  }

private:
  static std::string commit_message_of(const pull_request_spec& spec) {
    auto message = spec.commit_message.empty() ? spec.title : spec.commit_message;
    return message.empty() ? "Aetherium changes" : message;
  }

  static result<repo_name> validate(const pull_request_spec& spec, const change_set& changes) {
    if (auto c = check_changes(changes); !c)
      return c.err();
    if (auto b = check_branch(spec.head_branch, "head_branch"); !b)
      return b.err();
    if (auto b = check_branch(spec.base_branch, "base_branch"); !b)
      return b.err();
    return github::parse_repo(spec.repo);
  }

  /// The commit a new branch starts from: the change set's base, else the base branch head.
  result<std::string> start_point(const repo_name& repo, const pull_request_spec& spec, const change_set& changes) {
    if (!changes.base_commit.empty())
      return changes.base_commit;
    return api_.branch_commit(repo, spec.base_branch);
  }

  /// Blobs for every added or modified file, one tree on top of `parent`'s, one commit.
  result<std::string> push_commit(const repo_name& repo, const pull_request_spec& spec, const change_set& changes,
                                  const std::string& parent) {
    auto base_tree = api_.commit_tree(repo, parent);
    if (!base_tree)
      return base_tree.err();
    std::vector<github::tree_entry> entries;
    for (auto& f : changes.files) {
      if (!valid_change_path(f.path))
        return make_error(errc::invalid_argument, "unsafe path in the change: " + f.path, "path");
      github::tree_entry e{f.path, f.symlink ? "120000" : f.executable ? "100755" : "100644", std::nullopt};
      if (f.change != file_change::kind::deleted) {
        auto blob = api_.create_blob(repo, f.content);
        if (!blob)
          return blob.err();
        e.sha = *blob;
      }
      entries.push_back(std::move(e));
    }
    auto tree = api_.create_tree(repo, *base_tree, entries);
    if (!tree)
      return tree.err();
    return api_.create_commit(repo, commit_message_of(spec), *tree, parent);
  }

  github_api api_;
};

} // namespace

std::shared_ptr<code_host> make_github_code_host(github_options options) {
  return std::make_shared<github_code_host>(std::move(options));
}

std::shared_ptr<github::pull_request_comments> make_github_pull_request_comments(github_options options) {
  return std::make_shared<github_code_host>(std::move(options));
}

} // namespace aetherium
