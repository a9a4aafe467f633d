#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unistd.h>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"

namespace aetherium {

namespace fs = std::filesystem;

namespace {

/// Removes a scratch clone however the push ends.
struct scratch_dir {
  fs::path path;
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

class local_git_code_host : public code_host {
public:
  local_git_code_host(std::string scratch, std::vector<std::string> roots)
    : scratch_(std::move(scratch)), roots_(std::move(roots)) {}

  result<pull_request_ref> open_pull_request(const pull_request_spec& spec,
                                             const change_set& changes) override {
    if (auto allowed = git::check_repository_location(spec.repo, roots_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    auto pushed = push(spec, changes, changes.base_commit);
    if (!pushed)
      return pushed.err();
    auto pulls = fs::path{spec.repo} / "aetherium" / "pulls";
    std::error_code ec;
    fs::create_directories(pulls, ec);
    std::int64_t number = 1;
    while (fs::exists(pulls / std::to_string(number)))
      ++number;
    pull_request_ref ref{number, "file://" + fs::absolute(spec.repo).string() + "#pull/" + std::to_string(number),
                         spec.head_branch, *pushed};
    record(pulls / std::to_string(number), spec);
    return ref;
  }

  result<pull_request_ref> update_pull_request(const pull_request_spec& spec, std::int64_t number,
                                               const change_set& changes) override {
    if (auto allowed = git::check_repository_location(spec.repo, roots_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    auto file = fs::path{spec.repo} / "aetherium" / "pulls" / std::to_string(number);
    if (!fs::exists(file))
      return make_error(errc::not_found, "no pull request " + std::to_string(number));
    auto pushed = push(spec, changes, "origin/" + spec.head_branch);
    if (!pushed)
      return pushed.err();
    record(file, spec);
    return pull_request_ref{number, "file://" + fs::absolute(spec.repo).string() + "#pull/" + std::to_string(number),
                            spec.head_branch, *pushed};
  }

private:
  static void record(const fs::path& file, const pull_request_spec& spec) {
    std::ofstream out{file, std::ios::trunc};
    out << "branch: " << spec.head_branch << "\nbase: " << spec.base_branch << "\ntitle: " << spec.title
        << "\n\n" << spec.body << "\n";
  }

  /// Clones the bare repository, applies the change on top of `parent`, commits once and
  /// pushes to the head branch. Returns the new commit.
  result<std::string> push(const pull_request_spec& spec, const change_set& changes,
                           const std::string& parent) {
    if (changes.files.empty())
      return make_error(errc::invalid_argument, "the change set is empty");
    if (spec.head_branch.empty() || spec.head_branch[0] == '-')
      return make_error(errc::invalid_argument, "bad head branch", "head_branch");
    scratch_dir dir{fs::path{scratch_} / ("push-" + std::to_string(++counter_) + "-" + std::to_string(::getpid()))};
    fs::create_directories(dir.path.parent_path());
    if (auto c = git::git_ok({"clone", "--quiet", "--", fs::absolute(spec.repo).string(), dir.path.string()}, "/"); !c)
      return c.err();
    if (auto co = git::git_ok({"checkout", "--quiet", "--detach", parent}, dir.path); !co)
      return co.err();
    auto ws = make_git_workspace_provider(::getuid(), ::getgid());
    if (auto applied = ws->apply(dir.path, changes); !applied)
      return applied.err();
    if (auto a = git::git_ok({"add", "--all"}, dir.path); !a)
      return a.err();
    auto msg = spec.commit_message.empty() ? spec.title : spec.commit_message;
    if (auto c = git::git_ok({"commit", "--quiet", "--allow-empty", "-m", msg}, dir.path); !c)
      return c.err();
    auto pushed = git::run_git({"push", "--quiet", "origin", "HEAD:refs/heads/" + spec.head_branch}, dir.path);
    if (!pushed)
      return pushed.err();
    if (pushed->exit_code != 0)
      return make_error(errc::conflict,
                        "push to " + spec.head_branch + " refused: " + pushed->err);
    auto sha = git::git_ok({"rev-parse", "HEAD"}, dir.path);
    if (!sha)
      return sha.err();
    return sha->substr(0, sha->find('\n'));
  }

  std::string scratch_;
  std::vector<std::string> roots_;
  std::mutex mtx_;
  std::atomic<int> counter_{0};
};

} // namespace

std::shared_ptr<code_host> make_local_git_code_host(std::string scratch_dir, std::vector<std::string> local_roots) {
  return std::make_shared<local_git_code_host>(std::move(scratch_dir), std::move(local_roots));
}

} // namespace aetherium
