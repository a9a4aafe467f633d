#include "adapters/sandbox/host_mounts.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/loop.h>
#include <sstream>
#include <thread>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {
namespace {

error errno_error(const std::string& what) {
  return make_error(errc::unavailable, what + ": " + std::strerror(errno));
}

result<void> write_secret(int dir_fd, const std::string& name, const std::string& value,
                          std::uint32_t uid, std::uint32_t gid) {
  unique_fd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0400));
  if (!fd.valid()) return errno_error("create secret " + name);
  std::size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::write(fd.get(), value.data() + done, value.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("write secret " + name);
    done += static_cast<std::size_t>(n);
  }
  if (::fchown(fd.get(), uid, gid) != 0 || ::fchmod(fd.get(), 0400) != 0)
    return errno_error("chown secret " + name);
  return {};
}

/// Opens a free loop device, creating its node if devtmpfs has not yet.
result<unique_fd> open_free_loop() {
  unique_fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) return errno_error("open /dev/loop-control");
  int index = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
  if (index < 0) return errno_error("LOOP_CTL_GET_FREE");
  std::string path = "/dev/loop" + std::to_string(index);
  unique_fd loop(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!loop.valid() && errno == ENOENT) {
    ::mknod(path.c_str(), S_IFBLK | 0660, makedev(7, static_cast<unsigned>(index)));
    loop.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  }
  if (!loop.valid()) return errno_error("open " + path);
  return loop;
}

/// Attaches `image` to a free loop device (retrying races with other attachers).
result<std::string> attach_loop(const std::string& image, unique_fd& loop_out) {
  unique_fd backing(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing.valid()) return errno_error("open " + image);
  for (int attempt = 0; attempt < 32; ++attempt) {
    auto loop = open_free_loop();
    if (!loop) return loop.err();
    loop_config config{};
    config.fd = static_cast<std::uint32_t>(backing.get());
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(loop->get(), LOOP_CONFIGURE, &config) == 0) {
      char link[64];
      std::snprintf(link, sizeof link, "/proc/self/fd/%d", loop->get());
      char target[256] = {};
      if (::readlink(link, target, sizeof target - 1) < 0) return errno_error("readlink loop");
      loop_out = std::move(*loop);
      return std::string(target);
    }
    if (errno != EBUSY) return errno_error("LOOP_CONFIGURE");
  }
  return make_error(errc::unavailable, "no free loop device");
}

std::string unescape_mount_path(const std::string& raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 3 < raw.size()) {
      out.push_back(static_cast<char>(std::stoi(raw.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

} // namespace

namespace {

// The new mount API (Linux 5.2, mount_setattr 5.12); glibc 2.36's wrappers clash with
// <linux/mount.h>, so the system calls are made directly.
#ifndef OPEN_TREE_CLONE
constexpr unsigned open_tree_clone = 1;
#else
constexpr unsigned open_tree_clone = OPEN_TREE_CLONE;
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
constexpr unsigned move_mount_f_empty_path = 0x4;
constexpr std::uint64_t attr_rdonly = 0x1, attr_nosuid = 0x2, attr_nodev = 0x4, attr_noexec = 0x8;

struct mount_attributes {
  std::uint64_t attr_set;
  std::uint64_t attr_clr;
  std::uint64_t propagation;
  std::uint64_t userns_fd;
};

} // namespace

result<void> inject_mount(pid_t pid, const std::string& source, const std::string& target, bool read_only) {
  unique_fd tree(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), open_tree_clone | O_CLOEXEC | AT_RECURSIVE)));
  if (!tree.valid()) return errno_error("open_tree " + source);
  mount_attributes attrs{attr_nosuid | attr_nodev | (read_only ? attr_rdonly | attr_noexec : 0), 0, MS_PRIVATE, 0};
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attrs, sizeof attrs) != 0)
    return errno_error("mount_setattr " + source);
  unique_fd ns(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return errno_error("open the sandbox's mount namespace");
  // setns(CLONE_NEWNS) needs a process that shares nothing with other threads: a child.
  pid_t child = ::fork();
  if (child < 0) return errno_error("fork");
  if (child == 0) {
    // The exit status says which step failed (bit 6: move_mount) and its errno (low bits).
    if (::setns(ns.get(), CLONE_NEWNS) != 0) ::_exit(errno & 63);
    if (::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, target.c_str(), move_mount_f_empty_path) != 0)
      ::_exit(64 | (errno & 63));
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  return make_error(errc::unavailable, std::string(code & 64 ? "move_mount at " : "setns for ") + target +
                                           " in the sandbox: " + std::strerror(code & 63));
}

bool valid_secret_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

result<void> mount_secrets(const std::string& dir, const std::map<std::string, std::string>& secrets,
                           std::uint32_t uid, std::uint32_t gid) {
  std::uint64_t size = 64 * 1024;
  for (const auto& [name, value] : secrets) {
    if (!valid_secret_name(name))
      return make_error(errc::invalid_argument, "bad secret name '" + name + "'", "secrets");
    size += value.size() + 4096;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("mkdir " + dir);
  std::string options = "size=" + std::to_string(size) + ",mode=0500,uid=" + std::to_string(uid) +
                        ",gid=" + std::to_string(gid);
  unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (::mount("tmpfs", dir.c_str(), "tmpfs", flags, options.c_str()) != 0)
    return errno_error("mount secrets tmpfs");
  unique_fd dir_fd(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir_fd.valid()) return errno_error("open " + dir);
  for (const auto& [name, value] : secrets) {
    auto written = write_secret(dir_fd.get(), name, value, uid, gid);
    if (!written) return written;
  }
  // A process another thread forks while a secret file is open inherits its (close-on-
  // exec) write descriptor until it execs; meanwhile the kernel refuses a read-only remount
  // with EBUSY. That window is short: retry for up to about a second.
  for (int attempt = 0;; ++attempt) {
    if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | flags, options.c_str()) == 0)
      return {};
    if (errno != EBUSY || attempt == 200)
      return errno_error("remount secrets read-only");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

result<void> mount_bounded_workspace(const std::string& image, const std::string& mount_dir,
                                     std::uint64_t bytes, const std::string& seed_dir,
                                     std::uint32_t uid, std::uint32_t gid,
                                     const std::string& mkfs_binary) {
  {
    unique_fd file(::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid()) return errno_error("create " + image);
    if (::ftruncate(file.get(), static_cast<off_t>(bytes)) != 0) return errno_error("truncate " + image);
  }
  process_request mkfs;
  mkfs.argv = {mkfs_binary, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0", "-E",
               "root_owner=" + std::to_string(uid) + ":" + std::to_string(gid)};
  if (!seed_dir.empty()) {
    mkfs.argv.push_back("-d");
    mkfs.argv.push_back(seed_dir);
  }
  mkfs.argv.push_back(image);
  mkfs.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  mkfs.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  auto made = run_captured(mkfs);
  if (!made) return made.err();
  if (made->outcome.exit_code != 0)
    return make_error(errc::unavailable, "mkfs failed: " + made->err);
  if (::mkdir(mount_dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("mkdir " + mount_dir);
  unique_fd loop;
  auto device = attach_loop(image, loop);
  if (!device) return device.err();
  if (::mount(device->c_str(), mount_dir.c_str(), "ext4", MS_NOSUID | MS_NODEV, "") != 0) {
    auto e = errno_error("mount workspace");
    ::ioctl(loop.get(), LOOP_CLR_FD);
    return e;
  }
  if (::chown(mount_dir.c_str(), uid, gid) != 0) return errno_error("chown workspace");
  return {};
}

std::vector<std::string> mounts_below(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream info("/proc/self/mountinfo");
  std::string line;
  while (std::getline(info, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    point = unescape_mount_path(point);
    if (point == dir || point.compare(0, dir.size() + 1, dir + "/") == 0) found.push_back(point);
  }
  std::sort(found.begin(), found.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return found;
}

result<void> unmount_below(const std::string& dir) {
  for (int round = 0; round < 8; ++round) {
    auto points = mounts_below(dir);
    if (points.empty()) return {};
    for (const auto& point : points)
      if (::umount2(point.c_str(), UMOUNT_NOFOLLOW) != 0 && errno == EBUSY)
        ::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  }
  if (mounts_below(dir).empty()) return {};
  return make_error(errc::unavailable, "mounts below " + dir + " stay busy");
}

} // namespace aetherium::sandbox
