#include "adapters/sandbox/workspace_tree.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {

namespace fs = std::filesystem;

namespace {

/// A validated path of an entry the entries hold: relative, no empty, "." or ".." part.
bool safe_relative(const std::string& rel) {
  if (rel.empty() || rel.size() > 4096 || rel[0] == '/' || rel.find('\0') != std::string::npos)
    return false;
  std::size_t start = 0;
  while (start <= rel.size()) {
    auto end = rel.find('/', start);
    if (end == std::string::npos)
      end = rel.size();
    auto part = rel.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.size() > 255)
      return false;
    start = end + 1;
  }
  return true;
}

/// Opens the parent directory of `rel` under `root_fd`, one component at a time, never
/// following a link; sets `leaf` to the last component.
unique_fd open_parent(int root_fd, const std::string& rel, std::string& leaf) {
  unique_fd dir{::dup(root_fd)};
  std::size_t start = 0;
  for (;;) {
    auto end = rel.find('/', start);
    if (end == std::string::npos) {
      leaf = rel.substr(start);
      return dir;
    }
    unique_fd next{::openat(dir.get(), rel.substr(start, end - start).c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (!next.valid())
      return unique_fd{};
    dir = std::move(next);
    start = end + 1;
  }
}

} // namespace

workspace_writer::workspace_writer(int root_fd, std::uint32_t uid, std::uint32_t gid, std::uint64_t max_bytes,
                                   std::uint32_t max_entries)
    : root_(root_fd), uid_(uid), gid_(gid), max_bytes_(max_bytes), max_entries_(max_entries) {}

result<void> workspace_writer::add(std::uint32_t kind, const std::string& rel, std::uint32_t mode,
                                   const std::string& bytes) {
  if (!safe_relative(rel))
    return make_error(errc::invalid_argument, "the entries hold a bad workspace path");
  if (++entries_ > max_entries_ || bytes.size() > max_bytes_ - std::min(bytes_, max_bytes_))
    return make_error(errc::invalid_argument, "the workspace is larger than its limit");
  bytes_ += bytes.size();
  std::string leaf;
  auto parent = open_parent(root_, rel, leaf);
  if (!parent.valid())
    return make_error(errc::invalid_argument, "the entries hold " + rel + " under something not a directory");
  int rc = -1;
  errno = EINVAL;
  switch (static_cast<entry_kind>(kind)) {
    case entry_kind::directory:
      rc = ::mkdirat(parent.get(), leaf.c_str(), 0700);
      if (rc == 0) {
        unique_fd dir{::openat(parent.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
        rc = dir.valid() && ::fchown(dir.get(), uid_, gid_) == 0 && ::fchmod(dir.get(), mode & 0777) == 0 ? 0 : -1;
      }
      break;
    case entry_kind::symlink:
      if (bytes.empty() || bytes.find('\0') != std::string::npos)
        return make_error(errc::invalid_argument, "the entries hold a bad link target for " + rel);
      rc = ::symlinkat(bytes.c_str(), parent.get(), leaf.c_str());
      if (rc == 0)
        rc = ::fchownat(parent.get(), leaf.c_str(), uid_, gid_, AT_SYMLINK_NOFOLLOW);
      break;
    case entry_kind::file: {
      unique_fd out{::openat(parent.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
      rc = out.valid() ? 0 : -1;
      std::size_t done = 0;
      while (rc == 0 && done < bytes.size()) {
        ssize_t n = ::write(out.get(), bytes.data() + done, bytes.size() - done);
        if (n <= 0)
          rc = -1;
        else
          done += static_cast<std::size_t>(n);
      }
      if (rc == 0)
        rc = ::fchown(out.get(), uid_, gid_) == 0 && ::fchmod(out.get(), mode & 0777) == 0 ? 0 : -1;
      break;
    }
    default:
      return make_error(errc::invalid_argument, "the entries hold an entry of unknown kind for " + rel);
  }
  if (rc != 0)
    return make_error(errc::invalid_argument, "cannot copy out " + rel + ": " + std::strerror(errno));
  return {};
}

namespace {

struct tree_walk {
  std::uint64_t max_bytes;
  std::uint32_t max_entries;
  std::uint64_t bytes = 0;
  std::vector<tree_entry> out;

  result<void> add(tree_entry e) {
    if (out.size() >= max_entries)
      return make_error(errc::invalid_argument, "the workspace holds more than " + std::to_string(max_entries) + " entries");
    out.push_back(std::move(e));
    return {};
  }

  result<void> walk(int dir_fd, const std::string& prefix, int depth) {
    unique_fd owned{dir_fd};
    if (!owned.valid())
      return make_error(errc::unavailable, "cannot open " + (prefix.empty() ? std::string{"the workspace"} : prefix));
    if (depth > 256)
      return make_error(errc::invalid_argument, "directories nested too deep");
    DIR* d = ::fdopendir(owned.get());
    if (!d)
      return make_error(errc::unavailable, "cannot read " + prefix);
    (void)owned.release();
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    std::sort(names.begin(), names.end());
    result<void> ok;
    for (auto& name : names) {
      std::string rel = prefix.empty() ? name : prefix + "/" + name;
      struct stat st{};
      if (::fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      std::uint32_t mode = st.st_mode & 0777;
      if (S_ISDIR(st.st_mode)) {
        if (!(ok = add({static_cast<std::uint32_t>(entry_kind::directory), rel, mode, {}})))
          break;
        if (!(ok = walk(::openat(dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rel,
                        depth + 1)))
          break;
      } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(dirfd(d), name.c_str(), target, sizeof target);
        if (n <= 0)
          continue;
        if (!(ok = add({static_cast<std::uint32_t>(entry_kind::symlink), rel, mode,
                        std::string(target, static_cast<std::size_t>(n))})))
          break;
      } else if (S_ISREG(st.st_mode)) {
        unique_fd fd{::openat(dirfd(d), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
        if (!fd.valid())
          continue;
        std::string bytes;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
          bytes.append(buf, static_cast<std::size_t>(n));
          if (bytes.size() > max_bytes - std::min(this->bytes, max_bytes))
            break;
        }
        if (bytes.size() > max_bytes - std::min(this->bytes, max_bytes)) {
          ok = make_error(errc::invalid_argument, "the workspace holds more than " + std::to_string(max_bytes) + " bytes");
          break;
        }
        this->bytes += bytes.size();
        if (!(ok = add({static_cast<std::uint32_t>(entry_kind::file), rel, mode, std::move(bytes)})))
          break;
      }
    }
    ::closedir(d);
    return ok;
  }
};

} // namespace

result<std::vector<tree_entry>> read_tree(const std::string& dir, std::uint64_t max_bytes, std::uint32_t max_entries) {
  tree_walk w{max_bytes, max_entries};
  if (auto ok = w.walk(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "", 0); !ok)
    return ok.err();
  return std::move(w.out);
}

result<void> replace_tree(const std::string& dir, const std::vector<tree_entry>& entries, std::uint32_t uid,
                          std::uint32_t gid, std::uint64_t max_bytes) {
  unique_fd root{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!root.valid())
    return make_error(errc::unavailable, "cannot open the workspace " + dir);
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(dir, ec))
    fs::remove_all(entry.path(), ec);
  if (ec)
    return make_error(errc::unavailable, "cannot empty the workspace: " + ec.message());
  workspace_writer writer(root.get(), uid, gid, max_bytes);
  for (auto& e : entries)
    if (auto added = writer.add(e.kind, e.path, e.mode, e.bytes); !added)
      return added.err();
  return {};
}

} // namespace aetherium::sandbox
