#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unistd.h>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"
#include "adapters/git/git_objects.hpp"
#include "adapters/git/workspace_tree.hpp"

namespace aetherium {

namespace fs = std::filesystem;

namespace {

/// The host's own repository for the workspace at `dir`: beside it, never inside it, so
/// nothing a sandbox writes can become git metadata.
std::string private_git_dir(const std::string& dir) { return dir + ".git"; }

void chown_tree(const fs::path& root, std::uint32_t uid, std::uint32_t gid) {
  ::lchown(root.c_str(), uid, gid);
  for (auto& entry : fs::recursive_directory_iterator(root))
    ::lchown(entry.path().c_str(), uid, gid);
}

class git_workspace_provider : public workspace_provider {
public:
  git_workspace_provider(std::uint32_t uid, std::uint32_t gid, repository_policy policy)
    : uid_(uid), gid_(gid), policy_(std::move(policy)) {
    git::allow_ssh(policy_.allow_ssh);
  }

  result<void> prepare(const checkout_request& r) override {
    if (r.ref.empty() || r.ref[0] == '-')
      return make_error(errc::invalid_argument, "ref must not be empty or start with '-'", "base_ref");
    if (auto allowed = git::check_repository(r.repo, r.tenant, policy_); !allowed)
      return allowed.err();
    if (fs::exists(r.dir) || fs::exists(private_git_dir(r.dir)))
      return make_error(errc::invalid_argument, "workspace " + r.dir + " exists already");
    std::error_code ec;
    fs::create_directories(fs::path{r.dir}.parent_path(), ec);
    if (auto made = git::make_workspace_fs(r.dir, r.disk_bytes, uid_, gid_); !made)
      return made.err();
    std::lock_guard<std::mutex> lock{mu_};
    prepared_.insert(r.dir);
    return {};
  }

  result<std::string> checkout(const checkout_request& r) override {
    bool prepared = false;
    {
      std::lock_guard<std::mutex> lock{mu_};
      prepared = prepared_.erase(r.dir) > 0;
    }
    if (!prepared) {
      if (auto made = prepare(r); !made)
        return made.err();
      std::lock_guard<std::mutex> lock{mu_};
      prepared_.erase(r.dir);
    }
    git::git_limits limits{r.deadline, r.cancelled};
    auto git_dir = private_git_dir(r.dir);
    auto fetched = local_source(r.repo).empty() ? fetch(r, git_dir, limits) : borrow(local_source(r.repo), git_dir);
    if (!fetched) {
      release(r.dir);
      return fetched.err();
    }
    auto sha = resolve(git_dir, r.ref, limits);
    if (!sha) {
      release(r.dir);
      return sha.err();
    }
    // No agent has run here yet (a sandbox may already exist over it, its command not started).
    if (auto co = git::git_ok({"--git-dir=" + git_dir, "--work-tree=" + r.dir, "checkout", "--quiet", "--force", "--detach", *sha},
                              "/", {}, limits);
        !co) {
      release(r.dir);
      return co.err();
    }
    chown_tree(r.dir, uid_, gid_);
    auto stamps = git::stamp_tree(r.dir);
    std::lock_guard<std::mutex> lock{mu_};
    stamps_[r.dir] = std::move(stamps);
    return *sha;
  }

  std::vector<std::string> list(const std::string& root) override {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(root, ec))
      names.push_back(entry.path().filename().string());
    return names;
  }

  result<void> write_task_files(const std::string& dir, const task_files& files) override {
    // Written after the checkout and before the agent starts: nothing in the workspace is
    // the agent's yet, but `.aetherium` may be anything the repository holds.
    auto at = dir + "/.aetherium";
    std::error_code ec;
    fs::remove_all(at, ec);
    fs::create_directories(at, ec);
    if (ec)
      return make_error(errc::unavailable, "cannot write " + at + ": " + ec.message());
    bool ok = static_cast<bool>(std::ofstream{at + "/prompt.md", std::ios::binary} << files.prompt);
    if (!files.script.empty())
      ok = static_cast<bool>(std::ofstream{at + "/script.sh", std::ios::binary} << files.script) && ok;
    if (!files.conversation.empty())
      ok = static_cast<bool>(std::ofstream{at + "/conversation.md", std::ios::binary} << files.conversation) && ok;
    for (auto* p : {"", "/prompt.md", "/script.sh", "/conversation.md"})
      (void)::chown((at + p).c_str(), uid_, gid_);
    if (auto home = write_home(at + "/home", files.home_files); !home)
      return home;
    if (!ok)
      return make_error(errc::unavailable, "cannot write the task's files in " + at);
    return {};
  }

  /// The agent's home: made fresh by root in a directory just made, owned by the sandbox user.
  result<void> write_home(const std::string& home, const std::map<std::string, std::string>& files) {
    std::error_code ec;
    fs::create_directories(home, ec);
    (void)::chown(home.c_str(), uid_, gid_);
    for (auto& [rel, content] : files) {
      fs::path path{rel};
      bool plain = !rel.empty() && path.is_relative();
      for (auto& part : path)
        plain = plain && part != "." && part != ".." && !part.empty();
      if (!plain)
        return make_error(errc::invalid_argument, "not a plain relative path: " + rel, "home_files");
      std::string made = home;
      for (auto part = path.begin(); std::next(part) != path.end(); ++part) {
        made += "/" + part->string();
        fs::create_directory(made, ec);
        (void)::chown(made.c_str(), uid_, gid_);
      }
      auto file = home + "/" + rel;
      if (!(std::ofstream{file, std::ios::binary} << content))
        return make_error(errc::unavailable, "cannot write " + file);
      (void)::chown(file.c_str(), uid_, gid_);
    }
    return {};
  }

  result<std::vector<agent_file>> read_agent_files(const std::string& dir, const std::string& rel_dir,
                                                    std::size_t max_bytes) override {
    // The agent owned this tree: walk it one component at a time, following no link.
    std::vector<agent_file> out;
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return make_error(errc::not_found, "no workspace at " + dir);
    for (auto& part : fs::path(".aetherium/home/" + rel_dir)) {
      if (part.empty() || part == "." || part == "..") {
        ::close(fd);
        return make_error(errc::invalid_argument, "not a plain relative path: " + rel_dir, "rel_dir");
      }
      int next = ::openat(fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      ::close(fd);
      if (next < 0)
        return out; // missing, or not a plain directory: nothing kept
      fd = next;
    }
    struct candidate {
      std::string name;
      std::int64_t mtime_ns;
      std::size_t size;
    };
    std::vector<candidate> found;
    if (DIR* d = ::fdopendir(::dup(fd))) {
      while (auto* e = ::readdir(d)) {
        struct stat st {};
        if (std::string_view{e->d_name} == "." || std::string_view{e->d_name} == ".."
            || ::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
          continue;
        found.push_back({e->d_name, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
                         static_cast<std::size_t>(st.st_size)});
      }
      ::closedir(d);
    }
    std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.mtime_ns > b.mtime_ns; });
    std::size_t total = 0;
    for (auto& c : found) {
      if (c.size > max_bytes - total)
        continue;
      int f = ::openat(fd, c.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat st {};
      if (f < 0 || ::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f >= 0)
          ::close(f);
        continue;
      }
      std::string content(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_bytes - total), '\0');
      std::size_t got = 0;
      for (ssize_t n; got < content.size() && (n = ::read(f, content.data() + got, content.size() - got)) > 0;)
        got += static_cast<std::size_t>(n);
      ::close(f);
      content.resize(got);
      total += got;
      out.push_back({c.name, std::move(content), c.mtime_ns});
    }
    ::close(fd);
    return out;
  }

  result<change_set> collect(const std::string& dir, const std::string& base, std::size_t max_bytes) override {
    auto git_dir = private_git_dir(dir);
    auto tree = git::list_tree(git_dir, base);
    if (!tree)
      return tree.err();
    std::map<std::string, git::entry_stamp> stamps;
    {
      std::lock_guard<std::mutex> lock{mu_};
      if (auto at = stamps_.find(dir); at != stamps_.end())
        stamps = at->second;
    }
    std::vector<std::string> ignored;
    auto changes = git::diff_workspace(dir, *tree, stamps, max_bytes, ignored);
    if (!changes)
      return changes.err();
    changes->base_commit = base;
    changes->ignored = std::move(ignored);
    if (changes->files.empty())
      return changes;
    auto head = git::commit_files(git_dir, "refs/aetherium/collected", base, "collected", changes->files);
    if (!head)
      return head.err();
    auto patch = git::git_ok({"--git-dir=" + git_dir, "diff", "--binary", "--no-renames", "--no-ext-diff", "--no-textconv",
                              base, *head});
    if (!patch)
      return patch.err();
    changes->patch = std::move(*patch);
    return changes;
  }

  result<void> apply(const std::string& dir, const change_set& changes) override {
    for (const auto& f : changes.files)
      if (auto written = git::write_change(dir, f, uid_, gid_); !written)
        return written;
    return {};
  }

  result<change_set> replay(const std::string& dir, const std::string& base, const std::string& patch) override {
    // The patch is applied to an index of the host's own bare repository: no work tree,
    // so a link in it is a blob like any other.
    auto git_dir = "--git-dir=" + private_git_dir(dir);
    if (auto read = git::git_ok({git_dir, "read-tree", base}); !read)
      return read.err();
    if (auto applied = git::git_ok({git_dir, "apply", "--cached", "--binary", "-"}, "/", patch); !applied)
      return make_error(errc::invalid_argument, "the stored patch does not apply: " + applied.err().detail);
    auto tree = git::git_ok({git_dir, "write-tree"});
    if (!tree)
      return tree.err();
    auto diff = git::git_ok({git_dir, "diff-tree", "-r", "-z", "--no-renames", base, tree->substr(0, tree->find('\n'))});
    if (!diff)
      return diff.err();
    change_set changes;
    changes.base_commit = base;
    changes.patch = patch;
    // Records of ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0".
    for (std::size_t at = 0; at < diff->size();) {
      auto meta_end = diff->find('\0', at);
      auto path_end = meta_end == std::string::npos ? meta_end : diff->find('\0', meta_end + 1);
      if (path_end == std::string::npos)
        break;
      std::istringstream meta{diff->substr(at + 1, meta_end - at - 1)};
      std::string old_mode, new_mode, old_sha, new_sha, status;
      meta >> old_mode >> new_mode >> old_sha >> new_sha >> status;
      file_change f;
      f.path = diff->substr(meta_end + 1, path_end - meta_end - 1);
      at = path_end + 1;
      if (new_mode == "160000" || old_mode == "160000")
        continue; // submodules are not part of a change
      f.change = status == "A" ? file_change::kind::added : status == "D" ? file_change::kind::deleted : file_change::kind::modified;
      if (f.change != file_change::kind::deleted) {
        auto blob = git::git_ok({git_dir, "cat-file", "blob", new_sha});
        if (!blob)
          return blob.err();
        f.content = std::move(*blob);
        f.executable = new_mode == "100755";
        f.symlink = new_mode == "120000";
      }
      changes.files.push_back(std::move(f));
    }
    if (auto written = apply(dir, changes); !written)
      return written.err();
    return changes;
  }

  result<void> check_space(const std::string& dir) override {
    if (git::workspace_fs_full(dir))
      return make_error(errc::invalid_argument, "the workspace filled its disk limit", "disk_bytes");
    return {};
  }

  void release(const std::string& dir) override {
    git::remove_workspace_fs(dir);
    std::error_code ec;
    fs::remove_all(private_git_dir(dir), ec);
    std::lock_guard<std::mutex> lock{mu_};
    stamps_.erase(dir);
    prepared_.erase(dir);
  }

private:
  /// The object directory of a local repository (bare or not); empty for remotes.
  static std::string local_source(const std::string& repo) {
    std::string path = repo.rfind("file://", 0) == 0 ? repo.substr(7) : repo;
    if (path.empty() || path[0] != '/')
      return {};
    for (auto dir : {fs::path{path}, fs::path{path} / ".git"})
      if (fs::is_directory(dir / "objects") && fs::exists(dir / "HEAD"))
        return dir.string();
    return {};
  }

  /// Clones a remote into the host's own bare repository.
  static result<void> fetch(const checkout_request& r, const std::string& git_dir, const git::git_limits& limits) {
    if (auto cloned = git::git_ok({"clone", "--quiet", "--bare", "--", r.repo, git_dir}, "/", {}, limits); !cloned)
      return cloned.err();
    return {};
  }

  /// Makes the host's own bare repository for a local one without copying anything: its
  /// objects are borrowed (objects/info/alternates) and its refs copied by rev-parse later.
  static result<void> borrow(const std::string& source, const std::string& git_dir) {
    std::error_code ec;
    fs::create_directories(fs::path{git_dir} / "objects" / "info", ec);
    fs::create_directories(fs::path{git_dir} / "refs" / "heads", ec);
    if (ec)
      return make_error(errc::unavailable, "cannot create " + git_dir + ": " + ec.message());
    for (auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"HEAD", "ref: refs/heads/main\n"},
           {"config", "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"},
           {"objects/info/alternates", fs::canonical(fs::path{source} / "objects", ec).string() + "\n"},
           {"source", source}}) {
      std::ofstream out{git_dir + "/" + name, std::ios::binary};
      out << text;
      out.close();
      if (!out) // a full disk, most likely: say so rather than "ref not found" later
        return make_error(errc::unavailable, "cannot write " + git_dir + "/" + name + ": " + std::strerror(errno));
    }
    return {};
  }

  /// Resolves `ref` in the host's repository, or for a borrowed one in its source.
  static result<std::string> resolve(const std::string& git_dir, const std::string& ref, const git::git_limits& limits) {
    std::ifstream source_file{git_dir + "/source"};
    std::string source;
    std::getline(source_file, source);
    return resolve_in(source.empty() ? git_dir : source, ref, limits);
  }

  static result<std::string> resolve_in(const std::string& git_dir, const std::string& ref, const git::git_limits& limits) {
    for (auto candidate : {ref, "refs/heads/" + ref, "refs/tags/" + ref}) {
      auto sha = git::run_git({"--git-dir=" + git_dir, "rev-parse", "--verify", "--quiet", candidate + "^{commit}"}, "/", {}, limits);
      if (sha && sha->exit_code == 0)
        return sha->out.substr(0, sha->out.find('\n'));
    }
    return make_error(errc::not_found, "ref " + ref + " not found in the repository", "base_ref");
  }

  std::uint32_t uid_, gid_;
  repository_policy policy_;
  std::mutex mu_;
  std::map<std::string, std::map<std::string, git::entry_stamp>> stamps_;
  std::set<std::string> prepared_; ///< Workspaces made by prepare() and not yet filled.
};

} // namespace

std::shared_ptr<workspace_provider> make_git_workspace_provider(std::uint32_t uid, std::uint32_t gid,
                                                                repository_policy policy) {
  return std::make_shared<git_workspace_provider>(uid, gid, std::move(policy));
}

} // namespace aetherium
