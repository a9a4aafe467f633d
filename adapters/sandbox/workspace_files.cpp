#include "adapters/sandbox/workspace_files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {
namespace {

constexpr std::string_view prefix = "/workspace/";

error open_error(const std::string& what) {
  if (errno == ENOENT) return make_error(errc::not_found, what + ": no such file", "path");
  if (errno == EXDEV || errno == ELOOP || errno == ENOTDIR || errno == EISDIR)
    return make_error(errc::invalid_argument, what + ": " + std::strerror(errno), "path");
  return make_error(errc::unavailable, what + ": " + std::strerror(errno));
}

/// openat2 confined to `root`: "..", absolute links and magic links cannot leave it.
int open_beneath(int root_fd, const std::string& relative, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
}

} // namespace

result<std::string> workspace_relative(const std::string& sandbox_path) {
  if (sandbox_path.compare(0, prefix.size(), prefix) != 0 || sandbox_path.size() == prefix.size())
    return make_error(errc::invalid_argument, "path must be a file under /workspace", "path");
  std::string relative = sandbox_path.substr(prefix.size());
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    std::string part = relative.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return make_error(errc::invalid_argument, "path has an empty, '.' or '..' part", "path");
    start = end + 1;
  }
  return relative;
}

result<void> write_beneath(const std::string& root, const std::string& relative,
                           std::string_view bytes, std::uint32_t mode, std::uint32_t uid,
                           std::uint32_t gid) {
  unique_fd root_fd(::open(root.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root_fd.valid()) return open_error("open workspace");
  unique_fd fd(open_beneath(root_fd.get(), relative, O_WRONLY | O_CREAT, mode & 07777));
  if (!fd.valid()) return open_error("open " + relative);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(errc::invalid_argument, relative + " is not a regular file", "path");
  if (::ftruncate(fd.get(), 0) != 0) return open_error("truncate " + relative);
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return open_error("write " + relative);
    done += static_cast<std::size_t>(n);
  }
  if (::fchown(fd.get(), uid, gid) != 0 || ::fchmod(fd.get(), mode & 0777) != 0)
    return open_error("chown " + relative);
  return {};
}

result<std::string> read_beneath(const std::string& root, const std::string& relative,
                                 std::uint64_t max_bytes) {
  unique_fd root_fd(::open(root.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root_fd.valid()) return open_error("open workspace");
  unique_fd fd(open_beneath(root_fd.get(), relative, O_RDONLY, 0));
  if (!fd.valid()) return open_error("open " + relative);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(errc::invalid_argument, relative + " is not a regular file", "path");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return make_error(errc::invalid_argument, relative + " is larger than the limit", "path");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return open_error("read " + relative);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes)
      return make_error(errc::invalid_argument, relative + " is larger than the limit", "path");
  }
  return out;
}

} // namespace aetherium::sandbox
