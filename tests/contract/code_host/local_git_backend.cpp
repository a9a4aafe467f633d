// The code_host contract against the local git host: bare repositories in a temp dir.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "adapters/git/git_adapters.hpp"
#include "tests/contract/code_host/backend.hpp"
#include "tests/support/run_command.hpp"

namespace aetherium::testing {

namespace fs = std::filesystem;

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class local_git_backend : public code_host_backend {
public:
  local_git_backend() {
    static std::atomic<int> counter{0};
    root_ = fs::temp_directory_path() / ("aetherium-code-host-" + std::to_string(::getpid()) + "-"
                                         + std::to_string(++counter));
    fs::remove_all(root_);
    fs::create_directories(root_);
    host_ = make_local_git_code_host();
  }
  ~local_git_backend() override { fs::remove_all(root_); }

  std::string setup_error() override {
    return run_command("git --version").exit_code == 0 ? std::string{} : "git is not installed";
  }
  std::shared_ptr<code_host> host() override { return host_; }

  std::string create_repo(const std::map<std::string, std::string>& files, std::string& base_commit) override {
    auto name = "repo" + std::to_string(++repos_);
    auto src = root_ / (name + "-src");
    for (auto& [path, content] : files) {
      fs::create_directories((src / path).parent_path());
      std::ofstream{src / path, std::ios::binary} << content;
    }
    auto bare = root_ / (name + ".git");
    auto out = run_command("cd " + src.string() + " && git init -q -b main && git add -A && "
                           "git -c user.name=t -c user.email=t@t commit -q -m init && git clone -q --bare . "
                           + bare.string());
    if (out.exit_code != 0)
      return "cannot create repository: " + out.output;
    base_commit = first_line(run_command("git -C " + bare.string() + " rev-parse main").output);
    return bare.string();
  }

  std::string missing_repo() override { return (root_ / "no-such-repo.git").string(); }

  std::optional<branch_tip> tip(const std::string& repo, const std::string& branch) override {
    auto git = "git -C " + repo + " ";
    auto rev = run_command(git + "rev-parse --verify -q refs/heads/" + branch);
    if (rev.exit_code != 0)
      return std::nullopt;
    branch_tip t;
    t.commit = first_line(rev.output);
    std::istringstream parents{first_line(run_command(git + "rev-list --parents -n 1 " + t.commit).output)};
    std::string sha;
    parents >> sha;
    while (parents >> sha)
      t.parents.push_back(sha);
    std::istringstream tree{run_command(git + "ls-tree -r " + t.commit).output};
    std::string line;
    while (std::getline(tree, line)) {
      auto tab = line.find('\t');
      std::istringstream meta{line.substr(0, tab)};
      std::string mode, type, blob;
      meta >> mode >> type >> blob;
      t.files[line.substr(tab + 1)] = {run_command(git + "cat-file blob " + blob).output, mode == "100755"};
    }
    return t;
  }

  std::optional<std::string> pull_base(const std::string& repo, std::int64_t number) override {
    std::ifstream in{fs::path{repo} / "aetherium" / "pulls" / std::to_string(number)};
    if (!in)
      return std::nullopt;
    for (std::string line; std::getline(in, line) && !line.empty();)
      if (line.rfind("base: ", 0) == 0)
        return line.substr(6);
    return std::string{};
  }

  std::optional<std::string> pull_body(const std::string& repo, std::int64_t number) override {
    std::ifstream in{fs::path{repo} / "aetherium" / "pulls" / std::to_string(number)};
    if (!in)
      return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    auto s = text.str();
    auto gap = s.find("\n\n");
    auto body = gap == std::string::npos ? std::string{} : s.substr(gap + 2);
    if (!body.empty() && body.back() == '\n')
      body.pop_back();
    return body;
  }

  std::vector<std::string> problems() override { return {}; }

private:
  fs::path root_;
  int repos_ = 0;
  std::shared_ptr<code_host> host_;
};

} // namespace

std::unique_ptr<code_host_backend> make_backend() { return std::make_unique<local_git_backend>(); }

} // namespace aetherium::testing
