#include "adapters/git/workspace_tree.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <openssl/evp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::git {

namespace {

error errno_error(const std::string& what) {
  return make_error(errc::unavailable, what + ": " + std::strerror(errno));
}

/// Incremental SHA-1 of a git object.
class oid_hasher {
public:
  oid_hasher(const char* type, std::uint64_t size) : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha1(), nullptr);
    auto header = std::string{type} + " " + std::to_string(size);
    EVP_DigestUpdate(ctx_, header.c_str(), header.size() + 1);
  }
  ~oid_hasher() { EVP_MD_CTX_free(ctx_); }
  void add(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i)
      out += {digits[md[i] >> 4], digits[md[i] & 15]};
    return out;
  }

private:
  EVP_MD_CTX* ctx_;
};

std::int64_t ctime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

entry_stamp stamp_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size), ctime_ns(st),
          static_cast<std::uint32_t>(st.st_mode)};
}

/// Calls `visit(dir_fd, name, relative path, stat)` for every entry below `root_fd`, depth
/// first, never following links. `visit` returns whether to descend into a directory.
template <class Visit>
result<void> walk(int root_fd, const std::string& prefix, int depth, Visit&& visit) {
  if (depth > 256)
    return make_error(errc::invalid_argument, "the workspace is nested deeper than 256 directories", "workspace");
  int listing = ::dup(root_fd);
  DIR* d = listing < 0 ? nullptr : ::fdopendir(listing);
  if (!d) {
    if (listing >= 0)
      ::close(listing);
    return errno_error("read directory " + prefix);
  }
  std::vector<std::string> names;
  while (auto* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(root_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    auto rel = prefix.empty() ? name : prefix + "/" + name;
    if (!visit(root_fd, name, rel, st) || !S_ISDIR(st.st_mode))
      continue;
    sandbox::unique_fd sub{::openat(root_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (sub.get() < 0)
      return errno_error("open directory " + rel);
    if (auto r = walk(sub.get(), rel, depth + 1, visit); !r)
      return r;
  }
  return {};
}

/// Reads the regular file `name` in `dir_fd`: its oid, and its bytes when `keep`.
result<std::string> read_file(int dir_fd, const std::string& name, std::uint64_t size, bool keep, std::string& content) {
  sandbox::unique_fd fd{::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0)
    return errno_error("open " + name);
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != size)
    return make_error(errc::unavailable, name + " changed while it was read");
  oid_hasher h{"blob", size};
  char buf[65536];
  std::uint64_t left = size;
  while (left > 0) {
    auto n = ::read(fd.get(), buf, std::min<std::uint64_t>(sizeof buf, left));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return make_error(errc::unavailable, name + " changed while it was read");
    h.add(buf, static_cast<std::size_t>(n));
    if (keep)
      content.append(buf, static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
  }
  return h.hex();
}

std::string budget_message(std::size_t max_bytes) {
  return "the change is larger than " + std::to_string(max_bytes) + " bytes";
}

} // namespace

std::string blob_oid(const std::string& content) {
  oid_hasher h{"blob", content.size()};
  h.add(content.data(), content.size());
  return h.hex();
}

result<void> make_workspace_fs(const std::string& dir, std::uint64_t bytes, std::uint32_t uid, std::uint32_t gid) {
  if (::mkdir(dir.c_str(), 0755) != 0)
    return errno_error("create workspace " + dir);
  if (bytes == 0)
    return {};
  auto inodes = std::max<std::uint64_t>(bytes / 4096, 4096);
  auto options = "size=" + std::to_string(bytes) + ",nr_inodes=" + std::to_string(inodes) + ",mode=0755,uid=" +
                 std::to_string(uid) + ",gid=" + std::to_string(gid);
  if (::mount("aetherium-workspace", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    auto e = errno_error("mount the workspace filesystem at " + dir);
    ::rmdir(dir.c_str());
    return e;
  }
  return {};
}

void remove_workspace_fs(const std::string& dir) {
  for (int i = 0; i < 4 && ::umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0; ++i) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

bool workspace_fs_full(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0)
    return false;
  return vfs.f_bavail == 0 || (vfs.f_files > 0 && vfs.f_favail == 0);
}

std::map<std::string, entry_stamp> stamp_tree(const std::string& dir) {
  std::map<std::string, entry_stamp> out;
  sandbox::unique_fd root{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (root.get() < 0)
    return out;
  (void)walk(root.get(), "", 0, [&](int, const std::string&, const std::string& rel, const struct stat& st) {
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      out[rel] = stamp_of(st);
    return true;
  });
  return out;
}

result<change_set> diff_workspace(const std::string& dir, const std::map<std::string, base_entry>& base,
                                  const std::map<std::string, entry_stamp>& stamps, std::size_t max_bytes,
                                  std::vector<std::string>& ignored) {
  sandbox::unique_fd root{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (root.get() < 0)
    return errno_error("open workspace " + dir);
  change_set out;
  std::map<std::string, bool> seen;
  std::size_t used = 0;
  std::optional<error> failed;
  auto visit = [&](int dir_fd, const std::string& name, const std::string& rel, const struct stat& st) {
    if (failed || rel == ".aetherium")
      return false;
    if (is_git_dir_name(name) || !valid_change_path(rel)) {
      ignored.push_back(rel + " (git metadata or a bad name)");
      return false;
    }
    if (S_ISDIR(st.st_mode))
      return true;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      ignored.push_back(rel + " (not a regular file, directory or link)");
      return false;
    }
    seen[rel] = true;
    auto stamp = stamps.find(rel);
    if (stamp != stamps.end() && stamp->second == stamp_of(st) && base.count(rel))
      return false;
    file_change f;
    f.path = rel;
    f.symlink = S_ISLNK(st.st_mode);
    f.executable = !f.symlink && (st.st_mode & S_IXUSR);
    std::string mode = f.symlink ? "120000" : f.executable ? "100755" : "100644";
    auto b = base.find(rel);
    auto size = static_cast<std::uint64_t>(st.st_size);
    bool may_be_same = b != base.end() && b->second.size == size;
    bool fits = used + size + rel.size() <= max_bytes;
    if (!fits && !may_be_same) {
      failed = make_error(errc::invalid_argument, budget_message(max_bytes), "max_changed_bytes");
      return false;
    }
    std::string oid;
    if (f.symlink) {
      char target[4097];
      auto n = ::readlinkat(dir_fd, name.c_str(), target, sizeof target - 1);
      if (n < 0) {
        failed = errno_error("read link " + rel);
        return false;
      }
      f.content.assign(target, static_cast<std::size_t>(n));
      oid = blob_oid(f.content);
    } else {
      auto read = read_file(dir_fd, name, size, fits, f.content);
      if (!read) {
        failed = read.err();
        return false;
      }
      oid = *read;
    }
    if (b != base.end() && b->second.oid == oid && b->second.mode == mode)
      return false;
    if (!fits) {
      failed = make_error(errc::invalid_argument, budget_message(max_bytes), "max_changed_bytes");
      return false;
    }
    used += f.content.size() + rel.size();
    f.change = b == base.end() ? file_change::kind::added : file_change::kind::modified;
    out.files.push_back(std::move(f));
    return false;
  };
  if (auto walked = walk(root.get(), "", 0, visit); !walked)
    return walked.err();
  if (failed)
    return *failed;
  for (const auto& [path, entry] : base) {
    if (seen.count(path) || entry.mode == "160000" || path.rfind(".aetherium/", 0) == 0)
      continue;
    file_change f;
    f.path = path;
    f.change = file_change::kind::deleted;
    out.files.push_back(std::move(f));
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const file_change& a, const file_change& b) { return a.path < b.path; });
  return out;
}

result<void> write_change(const std::string& root, const file_change& change, std::uint32_t uid, std::uint32_t gid) {
  if (!valid_change_path(change.path))
    return make_error(errc::invalid_argument, "unsafe path in the change: " + change.path, "path");
  sandbox::unique_fd dir{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (dir.get() < 0)
    return errno_error("open " + root);
  auto path = change.path;
  std::size_t start = 0;
  for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', start)) {
    auto part = path.substr(start, slash - start);
    if (::mkdirat(dir.get(), part.c_str(), 0755) == 0)
      (void)::fchownat(dir.get(), part.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    int next = ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0)
      return make_error(errc::invalid_argument, "cannot enter " + path.substr(0, slash) + " (a link or a file is in the way)", "path");
    dir.reset(next);
    start = slash + 1;
  }
  auto name = path.substr(start);
  if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return errno_error("replace " + path);
  if (change.change == file_change::kind::deleted)
    return {};
  if (change.symlink) {
    if (::symlinkat(change.content.c_str(), dir.get(), name.c_str()) != 0)
      return errno_error("link " + path);
    (void)::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    return {};
  }
  sandbox::unique_fd fd{::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
  if (fd.get() < 0)
    return errno_error("create " + path);
  std::size_t done = 0;
  while (done < change.content.size()) {
    auto n = ::write(fd.get(), change.content.data() + done, change.content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return errno_error("write " + path);
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), change.executable ? 0755 : 0644) != 0 || ::fchown(fd.get(), uid, gid) != 0)
    return errno_error("chown " + path);
  return {};
}

} // namespace aetherium::git
