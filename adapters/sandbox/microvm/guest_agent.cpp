// aetherium-guest-agent: pid 1 of every microVM.
//
// At boot it mounts /proc, /sys and /dev, loads the kernel modules listed in
// /lib/modules/order (virtio transport, console and block), mounts the root filesystem
// disk (/dev/vda) read-only at /mnt/root, prepares a control group for the commands and
// opens the virtio-serial port named protocol::port_name. Then it serves the host
// (guest_protocol.hpp) until the VM is killed: the host may snapshot the VM at that point
// and start clones of it, so nothing task-specific happens before `setup`, which mounts
// the workspace disk (/dev/vdb), /tmp, /dev and /run/secrets under /mnt/root and sets the
// clock and the random pool. Each command runs chrooted to /mnt/root, as the task's user,
// with no_new_privs, in the commands' control group (memory, pids), with its own session.
//
// Single-threaded: one poll loop over the port, the commands' pipes and a signalfd for
// SIGCHLD. Linked statically: the initramfs holds nothing else.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/random.h>
#include <map>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/microvm/guest_protocol.hpp"

namespace {

namespace proto = aetherium::sandbox::microvm::protocol;

constexpr const char* root_dir = "/mnt/root";
constexpr const char* cgroup_dir = "/sys/fs/cgroup/sandbox";

void say(const std::string& line) {
  int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return;
  std::string text = "aetherium-guest-agent: " + line + "\n";
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

[[noreturn]] void halt(const std::string& why) {
  say("fatal: " + why);
  ::sync();
  ::_exit(1); // pid 1 exiting panics the kernel; panic=-1 on the command line powers off
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool done = write_all(fd, text.data(), text.size());
  ::close(fd);
  return done;
}

std::string read_small(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

/// The number after `key ` in a "key value" file such as memory.events or cpu.stat.
std::uint64_t keyed_value(const std::string& text, const std::string& key) {
  std::size_t at = 0;
  while ((at = text.find(key + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n')
      return std::strtoull(text.c_str() + at + key.size() + 1, nullptr, 10);
    at += key.size();
  }
  return 0;
}

void load_modules() {
  std::string order = read_small("/lib/modules/order");
  std::size_t start = 0;
  while (start < order.size()) {
    std::size_t end = order.find('\n', start);
    if (end == std::string::npos)
      end = order.size();
    std::string name = order.substr(start, end - start);
    start = end + 1;
    if (name.empty())
      continue;
    int fd = ::open(("/lib/modules/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      halt("module " + name + " missing");
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
      halt("module " + name + ": " + std::strerror(errno));
    ::close(fd);
  }
}

bool wait_for(const char* path) {
  for (int i = 0; i < 500; ++i) {
    if (::access(path, F_OK) == 0)
      return true;
    ::usleep(10000);
  }
  return false;
}

/// The /dev node of the virtio-serial port with our name.
std::string find_port() {
  for (int i = 0; i < 500; ++i) {
    if (DIR* d = ::opendir("/sys/class/virtio-ports")) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.')
          continue;
        std::string name = read_small(std::string("/sys/class/virtio-ports/") + e->d_name + "/name");
        while (!name.empty() && name.back() == '\n')
          name.pop_back();
        if (name == proto::port_name) {
          std::string dev = std::string("/dev/") + e->d_name;
          ::closedir(d);
          if (wait_for(dev.c_str()))
            return dev;
          return {};
        }
      }
      ::closedir(d);
    }
    ::usleep(10000);
  }
  return {};
}

void boot() {
  ::mkdir("/proc", 0555);
  ::mkdir("/sys", 0555);
  ::mkdir("/dev", 0755);
  ::mkdir("/mnt", 0755);
  ::mkdir(root_dir, 0755);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 ||
      ::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0 ||
      ::mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, nullptr) != 0)
    halt(std::string("mounting /proc, /sys, /dev: ") + std::strerror(errno));
  load_modules();
  if (!wait_for("/dev/vda"))
    halt("no root filesystem disk /dev/vda");
  if (::mount("/dev/vda", root_dir, "ext4", MS_RDONLY | MS_NODEV, "noload") != 0)
    halt(std::string("mounting the root filesystem: ") + std::strerror(errno));
  if (::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    halt(std::string("mounting cgroup2: ") + std::strerror(errno));
  (void)write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids +cpu");
  if (::mkdir(cgroup_dir, 0755) != 0 && errno != EEXIST)
    halt(std::string("creating the commands' control group: ") + std::strerror(errno));
}

/// A connection a command made to a tunnel port, relayed to the host.
struct tunnel {
  int fd;
  bool read_closed;  ///< The guest side ended: stream_close sent.
  bool write_closed; ///< The host side ended: stream_close received.
};

struct child {
  pid_t pid = 0;
  int out = -1, err = -1, in = -1;
  std::string stdin_pending;  ///< Bytes for `in` the command has not taken yet.
  bool stdin_closing = false; ///< Close `in` once stdin_pending is written.
  bool reaped = false;
  int status = 0;
  bool not_executed = false;
  int exec_errno = 0;
  std::uint64_t oom_before = 0;
};

class agent {
public:
  explicit agent(int port) : port_(port) {}

  void run() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sigchld_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    char buf[65536];
    for (;;) {
      std::vector<pollfd> fds{{port_, POLLIN, 0}, {sigchld_, POLLIN, 0}};
      std::vector<std::pair<std::uint32_t, int>> sources;
      std::size_t first_listener = fds.size();
      for (auto& [fd, port] : listeners_)
        fds.push_back({fd, POLLIN, 0});
      std::size_t first_stream = fds.size();
      std::vector<std::uint32_t> stream_ids;
      for (auto& [id, t] : streams_)
        if (!t.read_closed) {
          fds.push_back({t.fd, POLLIN, 0});
          stream_ids.push_back(id);
        }
      std::size_t first_stdin = fds.size();
      std::vector<std::uint32_t> stdin_ids;
      for (auto& [id, c] : children_)
        if (c.in >= 0 && !c.stdin_pending.empty()) {
          fds.push_back({c.in, POLLOUT, 0});
          stdin_ids.push_back(id);
        }
      std::size_t first_child = fds.size();
      for (auto& [id, c] : children_) {
        for (int fd : {c.out, c.err})
          if (fd >= 0) {
            fds.push_back({fd, POLLIN, 0});
            sources.emplace_back(id, fd);
          }
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR)
          continue;
        halt(std::string("poll: ") + std::strerror(errno));
      }
      if (fds[0].revents & POLLIN) {
        ssize_t n = ::read(port_, buf, sizeof buf);
        if (n > 0) {
          inbox_.append(buf, static_cast<std::size_t>(n));
          proto::frame f;
          int got;
          while ((got = proto::decode(inbox_, f)) == 1)
            handle(f);
          if (got < 0)
            halt("malformed frame from the host");
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          ::usleep(20000); // host side not connected yet (or between clones): poll again
        }
      } else if (fds[0].revents & (POLLHUP | POLLERR)) {
        ::usleep(20000);
      }
      for (std::size_t i = first_listener; i < first_stream; ++i)
        if (fds[i].revents & POLLIN)
          accept_on(fds[i].fd);
      for (std::size_t i = first_stream; i < first_child; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto it = streams_.find(stream_ids[i - first_stream]);
        if (it != streams_.end() && !it->second.read_closed)
          stream_readable(it->first, it->second);
      }
      close_finished_streams();
      for (std::size_t i = first_stdin; i < first_child; ++i)
        if (fds[i].revents & (POLLOUT | POLLERR | POLLHUP)) {
          auto it = children_.find(stdin_ids[i - first_stdin]);
          if (it != children_.end())
            feed_stdin(it->second);
        }
      for (std::size_t i = first_child; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto [id, fd] = sources[i - first_child];
        auto it = children_.find(id);
        if (it == children_.end())
          continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          send(proto::type::output, id,
               proto::writer{}.u32(fd == it->second.out ? 1 : 2).str({buf, static_cast<std::size_t>(n)}).take());
        } else if (n == 0 || errno != EINTR) {
          ::close(fd);
          (fd == it->second.out ? it->second.out : it->second.err) = -1;
        }
      }
      if (fds[1].revents & POLLIN) {
        signalfd_siginfo info;
        while (::read(sigchld_, &info, sizeof info) == sizeof info) {
        }
        reap();
      }
      finish_done();
    }
  }

private:
  void send(proto::type kind, std::uint32_t id, const std::string& body) {
    std::string wire = proto::encode(kind, id, body);
    if (!write_all(port_, wire.data(), wire.size()))
      halt(std::string("writing to the host: ") + std::strerror(errno));
  }
  void ok(std::uint32_t id) { send(proto::type::ok, id, {}); }
  void fail(std::uint32_t id, proto::error_code code, const std::string& detail) {
    send(proto::type::error, id, proto::writer{}.u32(static_cast<std::uint32_t>(code)).str(detail).take());
  }

  void handle(const proto::frame& f) {
    proto::reader r{f.body};
    switch (f.kind) {
      case proto::type::hello: {
        send(proto::type::hello, f.id, proto::writer{}.u32(proto::version).take());
        return;
      }
      case proto::type::setup: return setup(f.id, r);
      case proto::type::exec: return exec(f.id, r);
      case proto::type::stdin_data: {
        std::string bytes;
        auto it = children_.find(f.id);
        if (r.str(bytes) && it != children_.end() && it->second.in >= 0) {
          it->second.stdin_pending += bytes; // written as the command reads it (poll loop)
          feed_stdin(it->second);
        }
        return;
      }
      case proto::type::stdin_close: {
        auto it = children_.find(f.id);
        if (it != children_.end() && it->second.in >= 0) {
          it->second.stdin_closing = true;
          feed_stdin(it->second);
        }
        return;
      }
      case proto::type::signal: {
        std::int32_t sig = 0;
        if (!r.i32(sig) || sig <= 0 || sig >= 65)
          return fail(f.id, proto::error_code::invalid_argument, "signal");
        signal_all(sig);
        return ok(f.id);
      }
      case proto::type::put_file: return put_file(f.id, r);
      case proto::type::get_file: return get_file(f.id, r);
      case proto::type::stats: {
        std::string dir = cgroup_dir;
        auto events = read_small(dir + "/memory.events");
        send(proto::type::stats_reply, f.id,
             proto::writer{}
                 .u64(std::strtoull(read_small(dir + "/memory.current").c_str(), nullptr, 10))
                 .u64(keyed_value(read_small(dir + "/cpu.stat"), "usage_usec") * 1000)
                 .u32(static_cast<std::uint32_t>(std::strtoul(read_small(dir + "/pids.current").c_str(), nullptr, 10)))
                 .u64(keyed_value(events, "oom_kill"))
                 .take());
        return;
      }
      case proto::type::tree: return tree(f.id);
      case proto::type::stream_data: {
        std::string bytes;
        auto it = streams_.find(f.id);
        if (it == streams_.end() || !r.str(bytes))
          return;
        if (!write_all(it->second.fd, bytes.data(), bytes.size())) {
          it->second.write_closed = it->second.read_closed = true;
          ::shutdown(it->second.fd, SHUT_RDWR);
        }
        return;
      }
      case proto::type::stream_close: {
        auto it = streams_.find(f.id);
        if (it != streams_.end()) {
          it->second.write_closed = true;
          ::shutdown(it->second.fd, SHUT_WR);
          if (it->second.read_closed) { // the host gave up on the connection: end it
            ::close(it->second.fd);
            streams_.erase(it);
          }
        }
        return;
      }
      default: return fail(f.id, proto::error_code::invalid_argument, "unknown request");
    }
  }

  void setup(std::uint32_t id, proto::reader& r) {
    std::uint64_t now_ns = 0, tmp_bytes = 0, memory_bytes = 0;
    std::string seed;
    std::uint32_t pids = 0, count = 0;
    if (!r.u64(now_ns) || !r.str(seed) || !r.u32(uid_) || !r.u32(gid_) || !r.u64(tmp_bytes) || !r.u64(memory_bytes) ||
        !r.u32(pids) || !r.u32(count))
      return fail(id, proto::error_code::invalid_argument, "setup");
    std::vector<std::pair<std::string, std::string>> secrets(count > 256 ? 0 : count);
    for (auto& [name, value] : secrets)
      if (!r.str(name) || !r.str(value) || name.empty() || name[0] == '.' || name.find('/') != std::string::npos)
        return fail(id, proto::error_code::invalid_argument, "secret");
    std::uint32_t tunnels = 0;
    if (!r.u32(tunnels) || !r.done() || uid_ == 0)
      return fail(id, proto::error_code::invalid_argument, "setup");
    timespec ts{static_cast<time_t>(now_ns / 1000000000ull), static_cast<long>(now_ns % 1000000000ull)};
    (void)::clock_settime(CLOCK_REALTIME, &ts);
    if (int rnd = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC); rnd >= 0) {
      std::vector<char> info(sizeof(rand_pool_info) + seed.size());
      auto* pool = reinterpret_cast<rand_pool_info*>(info.data());
      pool->entropy_count = static_cast<int>(seed.size() * 8);
      pool->buf_size = static_cast<int>(seed.size());
      std::memcpy(pool->buf, seed.data(), seed.size());
      (void)::ioctl(rnd, RNDADDENTROPY, pool);
      (void)::ioctl(rnd, RNDRESEEDCRNG);
      ::close(rnd);
    }
    std::string dir = cgroup_dir;
    (void)write_file(dir + "/memory.max", std::to_string(memory_bytes));
    (void)write_file(dir + "/memory.swap.max", "0");
    (void)write_file(dir + "/pids.max", std::to_string(pids));
    std::string root = root_dir;
    if (!wait_for("/dev/vdb"))
      return fail(id, proto::error_code::io, "no workspace disk /dev/vdb");
    if (int disk = ::open("/dev/vdb", O_RDONLY | O_CLOEXEC); disk >= 0) {
      (void)::ioctl(disk, BLKFLSBUF, 0); // a clone's cache may hold the template's empty disk
      ::close(disk);
    }
    std::string tmp_opts = "mode=1777,size=" + std::to_string(tmp_bytes);
    std::string uid_opts = "mode=0500,size=1m,uid=" + std::to_string(uid_) + ",gid=" + std::to_string(gid_);
    if (::mount("/dev/vdb", (root + "/workspace").c_str(), "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, nullptr) != 0)
      return fail(id, proto::error_code::io, std::string("mounting the workspace: ") + std::strerror(errno));
    if (::mount("tmpfs", (root + "/tmp").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts.c_str()) != 0 ||
        ::mount("proc", (root + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0 ||
        ::mount("tmpfs", (root + "/dev").c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0 ||
        ::mount("tmpfs", (root + "/run").c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0)
      return fail(id, proto::error_code::io, std::string("mounting /tmp, /proc, /dev, /run: ") + std::strerror(errno));
    struct node { const char* name; unsigned major, minor; };
    for (node n : {node{"null", 1, 3}, node{"zero", 1, 5}, node{"full", 1, 7}, node{"random", 1, 8},
                   node{"urandom", 1, 9}, node{"tty", 5, 0}})
      if (::mknod((root + "/dev/" + n.name).c_str(), S_IFCHR | 0666, makedev(n.major, n.minor)) != 0)
        return fail(id, proto::error_code::io, std::string("mknod: ") + std::strerror(errno));
    for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"})
      ::chmod((root + "/dev/" + name).c_str(), 0666);
    (void)::symlink("/proc/self/fd", (root + "/dev/fd").c_str());
    std::string secrets_dir = root + "/run/secrets";
    ::mkdir(secrets_dir.c_str(), 0500);
    if (::mount("tmpfs", secrets_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, uid_opts.c_str()) != 0)
      return fail(id, proto::error_code::io, std::string("mounting /run/secrets: ") + std::strerror(errno));
    for (auto& [name, value] : secrets) {
      std::string path = secrets_dir + "/" + name;
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
      if (fd < 0 || !write_all(fd, value.data(), value.size()) || ::fchown(fd, uid_, gid_) != 0) {
        if (fd >= 0)
          ::close(fd);
        return fail(id, proto::error_code::io, "writing secret " + name);
      }
      ::close(fd);
    }
    (void)::mount(nullptr, secrets_dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  uid_opts.c_str());
    (void)::mount(nullptr, (root + "/run").c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0755,size=1m");
    (void)::rmdir((root + "/workspace/lost+found").c_str()); // made by mkfs, not part of the task
    workspace_ = ::open((root + "/workspace").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (workspace_ < 0)
      return fail(id, proto::error_code::io, "opening the workspace");
    if (tunnels) {
      bring_up_loopback();
      if ((tunnels & 1) && !listen_on(proto::tunnel_proxy_port))
        return fail(id, proto::error_code::io, "listening for the proxy tunnel");
      if ((tunnels & 2) && !listen_on(proto::tunnel_gateway_port))
        return fail(id, proto::error_code::io, "listening for the gateway tunnel");
    }
    written_kb_ = workspace_written_kb();
    ready_ = true;
    ok(id);
  }

  /// Bytes (KiB) written to the workspace disk so far, once everything dirty (mmap writes
  /// included) reached it: unchanged means the filesystem is as it was. Reads cannot move
  /// it (noatime); anything that can changes it, so a stale answer is never "unchanged".
  std::string workspace_written_kb() {
    ::syncfs(workspace_);
    std::string kb = read_small("/sys/fs/ext4/vdb/lifetime_write_kbytes");
    return kb.empty() ? "unknown" : kb;
  }

  static void bring_up_loopback() {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
      return;
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(s, SIOCGIFFLAGS, &req) == 0) {
      req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
      (void)::ioctl(s, SIOCSIFFLAGS, &req);
    }
    ::close(s);
  }

  bool listen_on(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
      return false;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      return false;
    }
    listeners_[fd] = port;
    return true;
  }

  void accept_on(int listener) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      return;
    if (streams_.size() >= 256) {
      ::close(fd);
      return;
    }
    std::uint32_t id = next_stream_++;
    if (next_stream_ < proto::first_stream_id)
      next_stream_ = proto::first_stream_id;
    streams_[id] = tunnel{fd, false, false};
    send(proto::type::stream_open, id, proto::writer{}.u32(listeners_[listener]).take());
  }

  void stream_readable(std::uint32_t id, tunnel& t) {
    char buf[65536];
    ssize_t n = ::read(t.fd, buf, sizeof buf);
    if (n > 0) {
      send(proto::type::stream_data, id, proto::writer{}.str({buf, static_cast<std::size_t>(n)}).take());
      return;
    }
    if (n < 0 && errno == EINTR)
      return;
    t.read_closed = true;
    send(proto::type::stream_close, id, {});
  }

  void close_finished_streams() {
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second.read_closed && it->second.write_closed) {
        ::close(it->second.fd);
        it = streams_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void exec(std::uint32_t id, proto::reader& r) {
    std::string cwd;
    std::uint32_t argc = 0, envc = 0, has_stdin = 0;
    std::vector<std::string> argv, env;
    if (!r.str(cwd) || !r.u32(argc) || argc == 0 || argc > 65536)
      return fail(id, proto::error_code::invalid_argument, "argv");
    argv.resize(argc);
    for (auto& a : argv)
      if (!r.str(a))
        return fail(id, proto::error_code::invalid_argument, "argv");
    if (!r.u32(envc) || envc > 65536)
      return fail(id, proto::error_code::invalid_argument, "env");
    env.resize(envc);
    for (auto& e : env)
      if (!r.str(e))
        return fail(id, proto::error_code::invalid_argument, "env");
    if (!r.u32(has_stdin) || !r.done() || argv[0].empty())
      return fail(id, proto::error_code::invalid_argument, "exec");
    if (!ready_)
      return fail(id, proto::error_code::io, "exec before setup");
    if (children_.count(id))
      return fail(id, proto::error_code::invalid_argument, "id in use");
    int out[2], err[2], in[2], report[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0 ||
        ::pipe2(report, O_CLOEXEC) != 0)
      return fail(id, proto::error_code::io, "pipe");
    child c;
    c.oom_before = keyed_value(read_small(std::string(cgroup_dir) + "/memory.events"), "oom_kill");
    pid_t pid = ::fork();
    if (pid < 0)
      return fail(id, proto::error_code::io, "fork");
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int s = 1; s < NSIG; ++s)
        ::signal(s, SIG_DFL);
      ::setsid();
      (void)write_file(std::string(cgroup_dir) + "/cgroup.procs", "0");
      (void)write_file("/proc/self/oom_score_adj", "0");
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      auto die = [&](int e) {
        (void)!::write(report[1], &e, sizeof e);
        ::_exit(e == EACCES ? 126 : 127);
      };
      if (::chroot(root_dir) != 0 || ::chdir(cwd.c_str()) != 0)
        die(errno);
      gid_t group = gid_;
      if (::setgroups(1, &group) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0 ||
          ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die(errno);
      std::vector<char*> args, envp;
      for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (auto& e : env)
        envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      std::string name = argv[0];
      int failure = ENOENT;
      if (name.find('/') != std::string::npos) {
        ::execve(name.c_str(), args.data(), envp.data());
        failure = errno;
      } else {
        std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (auto& e : env)
          if (e.rfind("PATH=", 0) == 0)
            path = e.substr(5);
        std::size_t start = 0;
        while (start <= path.size()) {
          std::size_t end = path.find(':', start);
          if (end == std::string::npos)
            end = path.size();
          std::string candidate = (end > start ? path.substr(start, end - start) : ".") + "/" + name;
          ::execve(candidate.c_str(), args.data(), envp.data());
          if (errno == EACCES)
            failure = EACCES;
          start = end + 1;
        }
      }
      std::string text = name + ": " + (failure == EACCES ? "permission denied" : "not found") + "\n";
      (void)!::write(2, text.data(), text.size());
      die(failure);
    }
    ::close(out[1]);
    ::close(err[1]);
    ::close(in[0]);
    ::close(report[1]);
    int e = 0;
    if (::read(report[0], &e, sizeof e) == sizeof e) { // only when exec failed
      c.not_executed = true;
      c.exec_errno = e;
    }
    ::close(report[0]);
    c.pid = pid;
    c.out = out[0];
    c.err = err[0];
    c.in = in[1];
    ::fcntl(c.in, F_SETFL, O_NONBLOCK); // never block the loop on a command that reads slowly
    if (!has_stdin) {
      ::close(c.in);
      c.in = -1;
    }
    children_[id] = c;
  }

  /// Writes what the command's stdin pipe takes now; closes it when asked and drained.
  static void feed_stdin(child& c) {
    while (c.in >= 0 && !c.stdin_pending.empty()) {
      ssize_t n = ::write(c.in, c.stdin_pending.data(), c.stdin_pending.size());
      if (n > 0) {
        c.stdin_pending.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      } else { // the command closed its stdin: drop the rest
        c.stdin_pending.clear();
        c.stdin_closing = true;
      }
    }
    if (c.in >= 0 && c.stdin_closing && c.stdin_pending.empty()) {
      ::close(c.in);
      c.in = -1;
    }
  }

  void reap() {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0)
        return;
      for (auto& [id, c] : children_)
        if (c.pid == pid) {
          c.reaped = true;
          c.status = status;
        }
    }
  }

  void finish_done() {
    for (auto it = children_.begin(); it != children_.end();) {
      child& c = it->second;
      if (!c.reaped || c.out >= 0 || c.err >= 0) {
        ++it;
        continue;
      }
      if (c.in >= 0)
        ::close(c.in);
      int code = -1, sig = 0;
      if (WIFEXITED(c.status)) {
        code = WEXITSTATUS(c.status);
      } else if (WIFSIGNALED(c.status)) {
        sig = WTERMSIG(c.status);
        code = 128 + sig;
      }
      std::uint64_t oom_after = keyed_value(read_small(std::string(cgroup_dir) + "/memory.events"), "oom_kill");
      send(proto::type::exited, it->first,
           proto::writer{}.i32(code).i32(sig).u32(c.not_executed ? 1 : 0).u32(oom_after > c.oom_before ? 1 : 0).take());
      it = children_.erase(it);
    }
  }

  void signal_all(int sig) {
    std::string procs = read_small(std::string(cgroup_dir) + "/cgroup.procs");
    std::size_t start = 0;
    while (start < procs.size()) {
      std::size_t end = procs.find('\n', start);
      if (end == std::string::npos)
        end = procs.size();
      long pid = std::strtol(procs.c_str() + start, nullptr, 10);
      if (pid > 1)
        ::kill(static_cast<pid_t>(pid), sig);
      start = end + 1;
    }
  }

  /// `path` under /workspace, relative to it; empty when it is not there.
  static std::string inside_workspace(const std::string& path) {
    const std::string prefix = "/workspace/";
    if (path.compare(0, prefix.size(), prefix) != 0 || path.size() == prefix.size())
      return {};
    return path.substr(prefix.size());
  }

  int open_in_workspace(const std::string& rel, std::uint64_t flags, std::uint64_t mode) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, workspace_, rel.c_str(), &how, sizeof how));
  }

  void put_file(std::uint32_t id, proto::reader& r) {
    std::string path, bytes;
    std::uint32_t mode = 0;
    if (!r.str(path) || !r.u32(mode) || !r.str(bytes) || !r.done())
      return fail(id, proto::error_code::invalid_argument, "put_file");
    auto rel = inside_workspace(path);
    if (rel.empty() || !ready_)
      return fail(id, proto::error_code::invalid_argument, "path must be under /workspace");
    int fd = open_in_workspace(rel, O_WRONLY | O_CREAT | O_TRUNC, mode & 0777);
    if (fd < 0)
      return fail(id, errno == ENOENT ? proto::error_code::invalid_argument : proto::error_code::io,
                  path + ": " + std::strerror(errno));
    bool done = write_all(fd, bytes.data(), bytes.size()) && ::fchown(fd, uid_, gid_) == 0 && ::fchmod(fd, mode & 0777) == 0;
    ::close(fd);
    if (!done)
      return fail(id, proto::error_code::io, path + ": " + std::strerror(errno));
    ok(id);
  }

  void get_file(std::uint32_t id, proto::reader& r) {
    std::string path;
    std::uint64_t max = 0;
    if (!r.str(path) || !r.u64(max) || !r.done())
      return fail(id, proto::error_code::invalid_argument, "get_file");
    auto rel = inside_workspace(path);
    if (rel.empty() || !ready_)
      return fail(id, proto::error_code::invalid_argument, "path must be under /workspace");
    int fd = open_in_workspace(rel, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0)
      return fail(id, errno == ENOENT ? proto::error_code::not_found : proto::error_code::io, path + ": " + std::strerror(errno));
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return fail(id, proto::error_code::invalid_argument, path + ": not a regular file");
    }
    std::string bytes;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      bytes.append(buf, static_cast<std::size_t>(n));
      if (bytes.size() > max || bytes.size() > proto::max_frame_bytes - 64) {
        ::close(fd);
        return fail(id, proto::error_code::too_large, path + ": larger than " + std::to_string(max) + " bytes");
      }
    }
    ::close(fd);
    send(proto::type::data, id, proto::writer{}.str(bytes).take());
  }

  /// Sends every directory, regular file and symbolic link under /workspace (no link is
  /// followed; other kinds of files are left out).
  void tree(std::uint32_t id) {
    if (!ready_)
      return fail(id, proto::error_code::invalid_argument, "tree before setup");
    auto now = workspace_written_kb();
    if (now != "unknown" && now == written_kb_)
      return send(proto::type::tree_unchanged, id, {});
    std::uint32_t count = 0;
    // A descriptor of its own: a dup would share the directory offset the last walk left at the end.
    if (!walk(::openat(workspace_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "", id, count, 0))
      return;
    written_kb_ = workspace_written_kb();
    send(proto::type::tree_end, id, proto::writer{}.u32(count).take());
  }

  bool walk(int dir_fd, const std::string& prefix, std::uint32_t id, std::uint32_t& count, int depth) {
    if (dir_fd < 0) {
      fail(id, proto::error_code::io, "opening " + prefix);
      return false;
    }
    DIR* d = ::fdopendir(dir_fd);
    if (!d) {
      ::close(dir_fd);
      fail(id, proto::error_code::io, "reading " + prefix);
      return false;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    bool good = true;
    for (auto& name : names) {
      if (!good)
        break;
      std::string rel = prefix.empty() ? name : prefix + "/" + name;
      struct stat st{};
      if (::fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      std::uint32_t mode = st.st_mode & 07777;
      if (S_ISDIR(st.st_mode)) {
        send(proto::type::entry, id, proto::writer{}.u32(1).str(rel).u32(mode).str({}).take());
        ++count;
        if (depth > 256) {
          fail(id, proto::error_code::too_large, "directories nested too deep");
          good = false;
          break;
        }
        good = walk(::openat(dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rel, id, count,
                    depth + 1);
      } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(dirfd(d), name.c_str(), target, sizeof target);
        if (n < 0)
          continue;
        send(proto::type::entry, id, proto::writer{}.u32(3).str(rel).u32(mode).str({target, static_cast<std::size_t>(n)}).take());
        ++count;
      } else if (S_ISREG(st.st_mode)) {
        int fd = ::openat(dirfd(d), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
          continue;
        std::string bytes;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 && bytes.size() < proto::max_frame_bytes - 8192)
          bytes.append(buf, static_cast<std::size_t>(n));
        ::close(fd);
        if (bytes.size() >= proto::max_frame_bytes - 8192) {
          fail(id, proto::error_code::too_large, rel + ": file too large to copy out");
          good = false;
          break;
        }
        send(proto::type::entry, id, proto::writer{}.u32(2).str(rel).u32(mode).str(bytes).take());
        ++count;
      }
    }
    ::closedir(d);
    return good;
  }

  int port_;
  int sigchld_ = -1;
  int workspace_ = -1;
  std::string written_kb_; ///< workspace_written_kb() when the host last got the workspace
  bool ready_ = false;
  std::uint32_t uid_ = 65534, gid_ = 65534;
  std::string inbox_;
  std::map<std::uint32_t, child> children_;
  std::map<int, std::uint16_t> listeners_;
  std::map<std::uint32_t, tunnel> streams_;
  std::uint32_t next_stream_ = proto::first_stream_id;
};

} // namespace

int main() {
  if (::getpid() != 1)
    halt("must run as pid 1 of a microVM");
  ::signal(SIGPIPE, SIG_IGN); // a command that closed its stdin is an EPIPE, not a signal
  boot();
  std::string port = find_port();
  if (port.empty())
    halt(std::string("no virtio-serial port named ") + proto::port_name);
  int fd = ::open(port.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    halt("opening " + port + ": " + std::strerror(errno));
  say("ready");
  agent{fd}.run();
}
