// The code_host port and the pull_request_comments port on the GitHub REST API.
#include <memory>

#include "adapters/github/github_adapters.hpp"
#include "adapters/github/github_api.hpp"

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

  // github::pull_request_comments

  result<std::int64_t> add_comment(const std::string& repo_full, std::int64_t number, const std::string& body) override {
    auto repo = github::parse_repo(repo_full);
    if (!repo)
      return repo.err();
    if (body.empty())
      return make_error(errc::invalid_argument, "the comment is empty", "body");
    return api_.add_comment(*repo, number, body);
  }

private:
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
    auto message = spec.commit_message.empty() ? spec.title : spec.commit_message;
    return api_.create_commit(repo, message.empty() ? "Aetherium changes" : message, *tree, parent);
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
