#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"

namespace aetherium {

namespace fs = std::filesystem;

namespace {

result<std::string> read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    return make_error(errc::not_found, "cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void chown_tree(const fs::path& root, std::uint32_t uid, std::uint32_t gid) {
  ::lchown(root.c_str(), uid, gid);
  for (auto& entry : fs::recursive_directory_iterator(root))
    ::lchown(entry.path().c_str(), uid, gid);
}

class git_workspace_provider : public workspace_provider {
public:
  git_workspace_provider(std::uint32_t uid, std::uint32_t gid, std::vector<std::string> roots)
    : uid_(uid), gid_(gid), roots_(std::move(roots)) {}

  result<std::string> checkout(const std::string& repo, const std::string& ref,
                               const std::string& dir) override {
    if (repo.empty() || repo[0] == '-')
      return make_error(errc::invalid_argument, "repository must be a URL or a path", "repo");
    if (ref.empty() || ref[0] == '-')
      return make_error(errc::invalid_argument, "ref must not be empty or start with '-'", "base_ref");
    if (auto allowed = git::check_repository_location(repo, roots_); !allowed)
      return allowed.err();
    if (fs::exists(dir))
      return make_error(errc::invalid_argument, "workspace " + dir + " exists already");
    if (auto cloned = git::git_ok({"clone", "--quiet", "--no-checkout", "--", repo, dir}, "/"); !cloned)
      return cloned.err();
    auto sha = resolve(dir, ref);
    if (!sha)
      return sha.err();
    if (auto co = git::git_ok({"checkout", "--quiet", "--detach", *sha}, dir); !co)
      return co.err();
    chown_tree(dir, uid_, gid_);
    return *sha;
  }

  result<change_set> collect(const std::string& dir, const std::string& base,
                             std::size_t max_bytes) override {
    if (auto added = git::git_ok({"add", "--all", "--", ".", ":(exclude).aetherium"}, dir); !added)
      return added.err();
    auto names = git::git_ok({"diff", "--cached", "--no-renames", "--name-status", "-z", base}, dir);
    if (!names)
      return names.err();
    change_set out;
    out.base_commit = base;
    std::istringstream in{*names};
    std::string status, path;
    while (std::getline(in, status, '\0') && std::getline(in, path, '\0')) {
      file_change f;
      f.path = path;
      if (status == "D") {
        f.change = file_change::kind::deleted;
      } else {
        f.change = status == "A" ? file_change::kind::added : file_change::kind::modified;
        auto content = read_file(fs::path{dir} / path);
        if (!content)
          return content.err();
        f.content = std::move(*content);
        struct stat st {};
        f.executable = ::stat((fs::path{dir} / path).c_str(), &st) == 0 && (st.st_mode & S_IXUSR);
      }
      out.files.push_back(std::move(f));
      if (out.changed_bytes() > max_bytes)
        return make_error(errc::invalid_argument, "the change is larger than " + std::to_string(max_bytes)
                                                    + " bytes", "max_changed_bytes");
    }
    auto patch = git::git_ok({"diff", "--cached", "--binary", base}, dir);
    if (!patch)
      return patch.err();
    out.patch = std::move(*patch);
    return out;
  }

  result<void> apply(const std::string& dir, const change_set& changes) override {
    for (auto& f : changes.files) {
      if (f.path.empty() || f.path[0] == '/' || f.path.find("..") != std::string::npos)
        return make_error(errc::invalid_argument, "unsafe path " + f.path, "path");
      auto p = fs::path{dir} / f.path;
      std::error_code ec;
      if (f.change == file_change::kind::deleted) {
        fs::remove(p, ec);
        continue;
      }
      fs::create_directories(p.parent_path(), ec);
      std::ofstream out{p, std::ios::binary | std::ios::trunc};
      out << f.content;
      if (!out)
        return make_error(errc::internal, "cannot write " + p.string());
      out.close();
      ::chmod(p.c_str(), f.executable ? 0755 : 0644);
      ::lchown(p.c_str(), uid_, gid_);
    }
    return {};
  }

private:
  result<std::string> resolve(const std::string& dir, const std::string& ref) {
    for (auto candidate : {ref, "origin/" + ref}) {
      auto sha = git::run_git({"rev-parse", "--verify", "--quiet", candidate + "^{commit}"}, dir);
      if (sha && sha->exit_code == 0)
        return sha->out.substr(0, sha->out.find('\n'));
    }
    return make_error(errc::not_found, "ref " + ref + " not found in the repository", "base_ref");
  }

  std::uint32_t uid_, gid_;
  std::vector<std::string> roots_;
};

} // namespace

std::shared_ptr<workspace_provider> make_git_workspace_provider(std::uint32_t uid, std::uint32_t gid,
                                                                std::vector<std::string> local_roots) {
  return std::make_shared<git_workspace_provider>(uid, gid, std::move(local_roots));
}

} // namespace aetherium
