#include <filesystem>
#include <fstream>
#include <mutex>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"
#include "adapters/git/git_objects.hpp"

namespace aetherium {

namespace fs = std::filesystem;

namespace {

class local_git_code_host : public code_host {
public:
  explicit local_git_code_host(repository_policy policy) : policy_(std::move(policy)) {
    git::allow_ssh(policy_.allow_ssh);
  }

  result<pull_request_ref> open_pull_request(const pull_request_spec& spec, const change_set& changes) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    auto pushed = commit(spec, changes, changes.base_commit);
    if (!pushed)
      return pushed.err();
    auto pulls = fs::path{spec.repo} / "aetherium" / "pulls";
    std::error_code ec;
    fs::create_directories(pulls, ec);
    std::int64_t number = 1;
    while (fs::exists(pulls / std::to_string(number)))
      ++number;
    record(pulls / std::to_string(number), spec);
    return pull_request_ref{number, url(spec, number), spec.head_branch, *pushed};
  }

  result<pull_request_ref> update_pull_request(const pull_request_spec& spec, std::int64_t number,
                                               const change_set& changes) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    auto file = fs::path{spec.repo} / "aetherium" / "pulls" / std::to_string(number);
    if (!fs::exists(file))
      return make_error(errc::not_found, "no pull request " + std::to_string(number));
    auto head = git::git_ok({"--git-dir=" + spec.repo, "rev-parse", "--verify", "refs/heads/" + spec.head_branch + "^{commit}"});
    if (!head)
      return make_error(errc::not_found, "the branch of pull request " + std::to_string(number) + " is gone");
    auto pushed = commit(spec, changes, head->substr(0, head->find('\n')));
    if (!pushed)
      return pushed.err();
    // A pull request keeps the base it was opened against: a follow-up's spec names the
    // branch it started from, which is this pull request's own head.
    auto kept = spec;
    if (auto base = recorded_base(file); !base.empty())
      kept.base_branch = base;
    record(file, kept);
    return pull_request_ref{number, url(spec, number), spec.head_branch, *pushed};
  }

  result<bool> discard_unopened_branch(const pull_request_spec& spec) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    if (spec.head_branch.rfind("aetherium/", 0) != 0 || spec.head_branch.find("..") != std::string::npos)
      return false; // only branches named like the ones this host makes
    std::lock_guard<std::mutex> guard{mtx_};
    auto git_dir = fs::absolute(spec.repo);
    if (!fs::is_directory(git_dir / "objects"))
      git_dir /= ".git";
    auto ref = "refs/heads/" + spec.head_branch;
    auto tip = git::git_ok({"--git-dir=" + git_dir.string(), "rev-parse", "-q", "--verify", ref + "^{commit}"});
    if (!tip || tip->empty() || used_by_a_pull_request(spec))
      return false;
    auto sha = tip->substr(0, tip->find('\n'));
    auto committer = git::git_ok({"--git-dir=" + git_dir.string(), "log", "-1", "--format=%cn <%ce>", sha});
    if (!committer || committer->substr(0, committer->find('\n')) != git::committer_identity)
      return false; // someone else's commit: not ours to remove
    // Deleted only if it still points where it did: a concurrent push wins.
    if (auto deleted = git::git_ok({"--git-dir=" + git_dir.string(), "update-ref", "-d", ref, sha}); !deleted)
      return deleted.err();
    return true;
  }

private:
  /// Whether a pull request record of the repository names `spec.head_branch`.
  static bool used_by_a_pull_request(const pull_request_spec& spec) {
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(fs::path{spec.repo} / "aetherium" / "pulls", ec)) {
      std::ifstream in{entry.path()};
      for (std::string line; std::getline(in, line) && !line.empty();)
        if (line == "branch: " + spec.head_branch)
          return true;
    }
    return false;
  }

  static std::string url(const pull_request_spec& spec, std::int64_t number) {
    return "file://" + fs::absolute(spec.repo).string() + "#pull/" + std::to_string(number);
  }

  /// The base branch a pull request record names, or empty.
  static std::string recorded_base(const fs::path& file) {
    std::ifstream in{file};
    for (std::string line; std::getline(in, line) && !line.empty();)
      if (line.rfind("base: ", 0) == 0)
        return line.substr(6);
    return {};
  }

  static void record(const fs::path& file, const pull_request_spec& spec) {
    std::ofstream out{file, std::ios::trunc};
    out << "branch: " << spec.head_branch << "\nbase: " << spec.base_branch << "\ntitle: " << spec.title
        << "\n\n" << spec.body << "\n";
  }

  /// Commits the change on top of `parent` straight onto the head branch, as data: no
  /// work tree, no hooks. The branch only moves forward from `parent`.
  static result<std::string> commit(const pull_request_spec& spec, const change_set& changes, const std::string& parent) {
    if (changes.files.empty())
      return make_error(errc::invalid_argument, "the change set is empty");
    if (spec.head_branch.empty() || spec.head_branch[0] == '-' || spec.head_branch.find("..") != std::string::npos)
      return make_error(errc::invalid_argument, "bad head branch", "head_branch");
    auto git_dir = fs::absolute(spec.repo);
    if (!fs::is_directory(git_dir / "objects"))
      git_dir /= ".git";
    if (!fs::is_directory(git_dir / "objects"))
      return make_error(errc::not_found, "no repository at " + spec.repo, "repo");
    auto msg = spec.commit_message.empty() ? spec.title : spec.commit_message;
    return git::commit_files(git_dir.string(), "refs/heads/" + spec.head_branch, parent, msg, changes.files);
  }

  repository_policy policy_;
  std::mutex mtx_;
};

} // namespace

std::shared_ptr<code_host> make_local_git_code_host(repository_policy policy) {
  return std::make_shared<local_git_code_host>(std::move(policy));
}

} // namespace aetherium
