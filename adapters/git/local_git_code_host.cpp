#include <filesystem>
#include <map>
#include <fstream>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <fcntl.h>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"
#include "adapters/git/git_objects.hpp"
#include "events/github/pull_request_comments.hpp"

namespace aetherium {

namespace fs = std::filesystem;

namespace {

/// The repository's git directory: `repo` itself when bare, else its `.git`.
fs::path git_dir_of(const std::string& repo) {
  auto dir = fs::absolute(repo);
  if (!fs::is_directory(dir / "objects"))
    dir /= ".git";
  return dir;
}

/// The commit `ref` names, or empty when it names none.
std::string tip_of(const fs::path& git_dir, const std::string& ref) {
  auto tip = git::git_ok({"--git-dir=" + git_dir.string(), "rev-parse", "-q", "--verify", ref + "^{commit}"});
  return tip ? tip->substr(0, tip->find('\n')) : std::string{};
}

/// Commits on `ref`, newest first, at most `depth`: (id, message) pairs.
std::vector<std::pair<std::string, std::string>> history(const fs::path& git_dir, const std::string& ref, int depth) {
  std::vector<std::pair<std::string, std::string>> out;
  auto log = git::git_ok({"--git-dir=" + git_dir.string(), "log", "-n", std::to_string(std::max(depth, 1)),
                          "--format=%H%x00%B%x01", ref, "--"});
  if (!log)
    return out;
  std::size_t at = 0;
  while (at < log->size()) {
    auto end = log->find('\x01', at);
    if (end == std::string::npos)
      break;
    auto entry = log->substr(at, end - at);
    at = end + 1;
    while (!entry.empty() && entry.front() == '\n')
      entry.erase(0, 1);
    auto nul = entry.find('\0');
    if (nul != std::string::npos)
      out.emplace_back(entry.substr(0, nul), entry.substr(nul + 1));
  }
  return out;
}

using history_t = std::vector<std::pair<std::string, std::string>>;

class local_git_code_host : public code_host, public github::pull_request_comments {
public:
  explicit local_git_code_host(repository_policy policy) : policy_(std::move(policy)) {
    git::allow_ssh(policy_.allow_ssh);
  }

  result<pull_request_ref> open_pull_request(const pull_request_spec& spec, const change_set& changes) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    // An open interrupted after its push left the branch at that very commit: only the
    // pull request is missing.
    auto msg = spec.commit_message.empty() ? spec.title : spec.commit_message;
    auto tip = tip_of(git_dir_of(spec.repo), "refs/heads/" + spec.head_branch);
    auto done = tip.empty() ? history_t{} : history(git_dir_of(spec.repo), tip, 1);
    auto pushed = !done.empty() && same_commit_message(done.front().second, msg)
                    ? result<std::string>{tip}
                    : commit(spec, changes, changes.base_commit);
    if (!pushed)
      return pushed.err();
    auto pulls = fs::path{spec.repo} / "aetherium" / "pulls";
    std::error_code ec;
    fs::create_directories(pulls, ec);
    // The number is claimed by creating its file exclusively: another process (or host
    // instance) opening a pull request on the same repository at once takes the next one.
    std::int64_t number = 1;
    for (;; ++number) {
      int fd = ::open((pulls / std::to_string(number)).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::close(fd);
        break;
      }
      if (errno != EEXIST)
        return make_error(errc::unavailable, "cannot record a pull request in " + pulls.string() + ": "
                                               + std::strerror(errno));
    }
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

  result<std::optional<pull_request_ref>> find_pull_request(const pull_request_spec& spec) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    std::lock_guard<std::mutex> guard{mtx_};
    std::error_code ec;
    std::int64_t found = 0;
    for (auto& entry : fs::directory_iterator(fs::path{spec.repo} / "aetherium" / "pulls", ec)) {
      auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos || !entry.is_regular_file())
        continue;
      std::ifstream in{entry.path()};
      for (std::string line; std::getline(in, line) && !line.empty();)
        if (line == "branch: " + spec.head_branch)
          found = std::max<std::int64_t>(found, std::stoll(name));
    }
    if (found == 0)
      return std::optional<pull_request_ref>{};
    auto tip = tip_of(git_dir_of(spec.repo), "refs/heads/" + spec.head_branch);
    return std::optional<pull_request_ref>{pull_request_ref{found, url(spec, found), spec.head_branch, tip}};
  }

  result<std::optional<std::string>> find_commit(const pull_request_spec& spec, const std::string& marker,
                                                 int depth) override {
    if (auto allowed = git::check_repository(spec.repo, spec.tenant, policy_); !allowed)
      return allowed.err();
    if (marker.empty() || marker.find('\n') != std::string::npos)
      return make_error(errc::invalid_argument, "the marker must be one non-empty line", "marker");
    std::lock_guard<std::mutex> guard{mtx_};
    auto dir = git_dir_of(spec.repo);
    auto tip = tip_of(dir, "refs/heads/" + spec.head_branch);
    if (tip.empty())
      return std::optional<std::string>{};
    for (auto& [sha, message] : history(dir, tip, depth))
      if (has_marker_line(message, marker))
        return std::optional<std::string>{sha};
    return std::optional<std::string>{};
  }

  // github::pull_request_comments, kept as files beside the pull request's record:
  // <repo>/aetherium/pulls/<number>.comments/<id>.

  result<std::int64_t> add_comment(const std::string& repo, std::int64_t number, const std::string& body) override {
    if (body.empty())
      return make_error(errc::invalid_argument, "the comment is empty", "body");
    std::lock_guard<std::mutex> guard{mtx_};
    auto pull = fs::path{repo} / "aetherium" / "pulls" / std::to_string(number);
    if (!fs::is_regular_file(pull))
      return make_error(errc::not_found, "no pull request " + std::to_string(number) + " in " + repo);
    auto dir = pull.string() + ".comments";
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::int64_t id = 1;
    while (fs::exists(fs::path{dir} / std::to_string(id)))
      ++id;
    std::ofstream out{fs::path{dir} / std::to_string(id), std::ios::trunc};
    out << body;
    if (!out.flush())
      return make_error(errc::unavailable, "the comment could not be written to " + dir);
    return id;
  }

  result<std::string> conversation(const std::string& repo, std::int64_t number) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto pull = fs::path{repo} / "aetherium" / "pulls" / std::to_string(number);
    std::ifstream in{pull};
    if (!in)
      return make_error(errc::not_found, "no pull request " + std::to_string(number) + " in " + repo);
    std::string title, line;
    while (std::getline(in, line) && !line.empty())
      if (line.rfind("title: ", 0) == 0)
        title = line.substr(7);
    std::string description{std::istreambuf_iterator<char>{in}, {}};
    std::map<std::int64_t, std::string> ordered;
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(pull.string() + ".comments", ec)) {
      auto name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
        continue;
      std::ifstream c{entry.path()};
      ordered[std::stoll(name)] = std::string{std::istreambuf_iterator<char>{c}, {}};
    }
    std::vector<std::pair<std::string, std::string>> said;
    for (auto& [id, body] : ordered)
      said.emplace_back("", body);
    return github::conversation_markdown(title, description, said);
  }

  result<std::optional<std::int64_t>> find_comment(const std::string& repo, std::int64_t number,
                                                   const std::string& marker) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto dir = fs::path{repo} / "aetherium" / "pulls" / (std::to_string(number) + ".comments");
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(dir, ec)) {
      std::ifstream in{entry.path()};
      std::string text{std::istreambuf_iterator<char>{in}, {}};
      if (text.find(marker) != std::string::npos)
        return std::optional<std::int64_t>{std::stoll(entry.path().filename().string())};
    }
    return std::optional<std::int64_t>{};
  }

private:
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

std::shared_ptr<github::pull_request_comments> local_git_comments(const std::shared_ptr<code_host>& host) {
  return std::dynamic_pointer_cast<local_git_code_host>(host);
}

} // namespace aetherium
