#include "adapters/sandbox/microvm/vm_parts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace aetherium::sandbox::microvm {

namespace fs = std::filesystem;
namespace proto = protocol;

// ---------------------------------------------------------------------------------------
// agent_channel

agent_channel::agent_channel(unique_fd fd, std::function<void(const proto::frame&)> on_stream)
    : fd_(std::move(fd)), on_stream_(std::move(on_stream)) {
  reader_ = std::thread([this] { read_loop(); });
}

agent_channel::~agent_channel() {
  close();
  if (reader_.joinable())
    reader_.join();
}

void agent_channel::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_ && fd_.valid())
    ::shutdown(fd_.get(), SHUT_RDWR);
  closed_ = true;
  cv_.notify_all();
}

bool agent_channel::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

std::uint32_t agent_channel::next_id() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_++ & 0x7fffffffu;
}

void agent_channel::expect(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  inbox_[id];
}

void agent_channel::forget(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  inbox_.erase(id);
}

bool agent_channel::send(proto::type kind, std::uint32_t id, const std::string& body) {
  std::string wire = proto::encode(kind, id, body);
  std::lock_guard<std::mutex> lock(write_mu_);
  const char* p = wire.data();
  std::size_t left = wire.size();
  while (left > 0) {
    ssize_t n = ::send(fd_.get(), p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

agent_channel::wait agent_channel::next(std::uint32_t id, proto::frame& out, clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto it = inbox_.find(id);
    if (it != inbox_.end() && !it->second.empty()) {
      out = std::move(it->second.front());
      it->second.pop_front();
      return wait::frame;
    }
    if (closed_)
      return wait::closed;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && clock::now() >= deadline)
      return wait::timeout;
  }
}

agent_channel::wait agent_channel::call(proto::type kind, const std::string& body, proto::frame& reply,
                                        clock::time_point deadline) {
  auto id = next_id();
  expect(id);
  if (!send(kind, id, body)) {
    forget(id);
    return wait::closed;
  }
  auto got = next(id, reply, deadline);
  forget(id);
  return got;
}

void agent_channel::read_loop() {
  std::string buffer;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    proto::frame f;
    int got;
    while ((got = proto::decode(buffer, f)) == 1) {
      std::unique_lock<std::mutex> lock(mu_);
      auto it = inbox_.find(f.id);
      if (it != inbox_.end()) {
        it->second.push_back(std::move(f));
        cv_.notify_all();
      } else if (on_stream_) {
        lock.unlock();
        on_stream_(f);
      }
    }
    if (got < 0)
      break; // a guest that sends garbage is cut off
  }
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------
// sockets and QMP

result<unique_fd> connect_unix(const std::string& path, clock::time_point deadline,
                               const std::function<bool()>& keep_trying) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error(errc::invalid_argument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (;;) {
    unique_fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!fd.valid())
      return make_error(errc::unavailable, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      return fd;
    int e = errno;
    if (clock::now() >= deadline || (keep_trying && !keep_trying()))
      return make_error(errc::unavailable, "connect " + path + ": " + std::strerror(e));
    ::usleep(5000);
  }
}

namespace {

/// One line (a QMP message) from `fd`, buffering the rest.
result<std::string> read_line(int fd, std::string& buffer, clock::time_point deadline) {
  for (;;) {
    auto nl = buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0)
      return make_error(errc::unavailable, "QMP: no answer in time");
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR)
      return make_error(errc::unavailable, std::string("QMP: ") + std::strerror(errno));
    if (r <= 0)
      continue;
    char chunk[8192];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0)
      return make_error(errc::unavailable, "QMP: QEMU closed the connection");
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

bool send_with_fd(int sock, const std::string& text, int fd) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(text.size()))
    return true;
  if (n < 0)
    return false;
  std::string rest = text.substr(static_cast<std::size_t>(n));
  return ::send(sock, rest.data(), rest.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(rest.size());
}

} // namespace

result<qmp_client> qmp_client::connect(const std::string& path, clock::time_point deadline) {
  auto fd = connect_unix(path, deadline);
  if (!fd)
    return fd.err();
  qmp_client c;
  c.fd_ = std::move(*fd);
  auto greeting = read_line(c.fd_.get(), c.buffer_, deadline);
  if (!greeting)
    return greeting.err();
  auto caps = c.execute(R"({"execute":"qmp_capabilities"})", deadline);
  if (!caps)
    return caps.err();
  return c;
}

result<std::string> qmp_client::execute(const std::string& command_json, clock::time_point deadline, int fd) {
  if (!send_with_fd(fd_.get(), command_json + "\n", fd))
    return make_error(errc::unavailable, std::string("QMP send: ") + std::strerror(errno));
  for (;;) {
    auto line = read_line(fd_.get(), buffer_, deadline);
    if (!line)
      return line.err();
    auto doc = nlohmann::json::parse(*line, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      continue;
    if (doc.contains("return"))
      return doc["return"].dump();
    if (doc.contains("error"))
      return make_error(errc::unavailable, "QEMU: " + doc["error"].value("desc", doc["error"].dump()));
    // an event: keep reading
  }
}

// ---------------------------------------------------------------------------------------
// starting QEMU

std::vector<std::string> qemu_command(const qemu_shape& shape, const std::string& dir, bool memfd_ram, bool share,
                                      bool incoming) {
  std::vector<std::string> a = {shape.qemu, "-M",
                                "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=on,pic=off,pit=off,usb=off",
                                "-accel", shape.accel, "-cpu", shape.accel == "kvm" ? "host,-arch-capabilities" : "max",
                                "-smp", "1", "-m", std::to_string(shape.ram_mib) + "M",
                                "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-nic", "none",
                                "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
                                "-kernel", shape.kernel, "-initrd", shape.initramfs,
                                "-append", "console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=" + shape.tsc_khz +
                                               " rdinit=/init",
                                "-serial", "file:" + dir + "/console.log",
                                "-global", "virtio-mmio.force-legacy=false",
                                "-device", "virtio-serial-device",
                                "-chardev", "socket,id=agent,path=" + dir + "/agent.sock,server=on,wait=off",
                                "-device", std::string("virtserialport,chardev=agent,name=") + proto::port_name,
                                "-drive", "if=none,id=root,file=" + shape.image + ",format=raw,readonly=on",
                                "-device", "virtio-blk-device,drive=root",
                                "-drive", "if=none,id=work,file=" + dir + "/workspace.img,format=raw",
                                "-device", "virtio-blk-device,drive=work",
                                "-qmp", "unix:" + dir + "/qmp.sock,server=on,wait=off"};
  if (memfd_ram)
    a.insert(a.end(), {"-object",
                       "memory-backend-file,id=mem,size=" + std::to_string(shape.ram_mib) +
                           "M,mem-path=/proc/self/fd/3,share=" + (share ? "on" : "off"),
                       "-machine", "memory-backend=mem"});
  if (incoming)
    a.insert(a.end(), {"-incoming", "defer"});
  return a;
}

result<pid_t> start_qemu(const launch& how) {
  if (how.uid == 0 || how.gid == 0 || how.argv.empty())
    return make_error(errc::invalid_argument, "QEMU never runs as root");
  std::vector<char*> argv;
  for (auto& a : how.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string log = how.dir + "/qemu.log";
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return make_error(errc::unavailable, std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return make_error(errc::unavailable, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    auto fail = [&](const char* step) {
      std::string text = std::string(step) + ": " + std::strerror(errno);
      (void)!::write(report[1], text.data(), text.size());
      ::_exit(127);
    };
    ::setsid();
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
      fail("unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      fail("mount private");
    for (auto& procs : how.cgroup_procs) {
      int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1)
        fail("joining the control group");
      ::close(fd);
    }
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null < 0 || out < 0)
      fail("opening qemu.log");
    // Move the passed descriptors out of the way first, then into place from 3 up.
    std::vector<int> moved;
    for (int fd : how.pass_fds) {
      int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
      if (high < 0)
        fail("passing descriptors");
      moved.push_back(high);
    }
    for (std::size_t i = 0; i < moved.size(); ++i) {
      int target = static_cast<int>(3 + i);
      if (::dup2(moved[i], target) != target || ::fcntl(target, F_SETFD, 0) != 0)
        fail("passing descriptors");
    }
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (::fchown(out, how.uid, how.gid) != 0)
      fail("chown qemu.log");
    ::syscall(SYS_close_range, 3 + how.pass_fds.size(), ~0u, 0x4 /* CLOSE_RANGE_CLOEXEC */);
    if (::chdir(how.dir.c_str()) != 0)
      fail("chdir");
    if (::setgroups(how.groups.size(), how.groups.data()) != 0 || ::setresgid(how.gid, how.gid, how.gid) != 0 ||
        ::setresuid(how.uid, how.uid, how.uid) != 0)
      fail("dropping to the QEMU user");
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
      fail("prctl");
    ::execv(argv[0], argv.data());
    fail("exec qemu");
  }
  ::close(report[1]);
  std::string why;
  char buf[256];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0)
    why.append(buf, static_cast<std::size_t>(n));
  ::close(report[0]);
  if (!why.empty()) {
    int status;
    ::waitpid(pid, &status, 0);
    return make_error(errc::unavailable, "starting QEMU: " + why);
  }
  return pid;
}

// ---------------------------------------------------------------------------------------
// images

namespace {

void cpio_entry(std::string& out, std::uint32_t ino, const std::string& name, std::uint32_t mode,
                const std::string& data, std::uint32_t rdev_major = 0, std::uint32_t rdev_minor = 0) {
  char header[111];
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u,
                0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, rdev_major, rdev_minor,
                static_cast<unsigned>(name.size() + 1), 0u);
  out.append(header, 110);
  out.append(name).push_back('\0');
  while (out.size() % 4)
    out.push_back('\0');
  out.append(data);
  while (out.size() % 4)
    out.push_back('\0');
}

bool slurp(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

} // namespace

result<void> write_initramfs(const std::string& agent_binary, const std::string& modules_dir,
                             const std::string& out_path) {
  std::string agent, order;
  if (!slurp(agent_binary, agent))
    return make_error(errc::unavailable, "cannot read the guest agent " + agent_binary);
  if (!slurp(modules_dir + "/order", order))
    return make_error(errc::unavailable, "cannot read " + modules_dir + "/order");
  std::string out;
  std::uint32_t ino = 1;
  cpio_entry(out, ino++, "dev", 040755, {});
  cpio_entry(out, ino++, "dev/console", 020600, {}, 5, 1);
  cpio_entry(out, ino++, "lib", 040755, {});
  cpio_entry(out, ino++, "lib/modules", 040755, {});
  std::istringstream names(order);
  for (std::string name; std::getline(names, name);) {
    if (name.empty())
      continue;
    if (name.find('/') != std::string::npos)
      return make_error(errc::unavailable, "bad module name in order: " + name);
    std::string module;
    if (!slurp(modules_dir + "/" + name, module))
      return make_error(errc::unavailable, "cannot read module " + modules_dir + "/" + name);
    cpio_entry(out, ino++, "lib/modules/" + name, 0100644, module);
  }
  cpio_entry(out, ino++, "lib/modules/order", 0100644, order);
  cpio_entry(out, ino++, "init", 0100755, agent);
  cpio_entry(out, 0, "TRAILER!!!", 0, {});
  std::string tmp = out_path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!file.flush())
      return make_error(errc::unavailable, "cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0644);
  if (::rename(tmp.c_str(), out_path.c_str()) != 0)
    return make_error(errc::unavailable, "rename " + tmp + ": " + std::strerror(errno));
  return {};
}

std::uint64_t tree_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      break;
    std::error_code e2;
    if (it->is_regular_file(e2) && !it->is_symlink(e2))
      total += it->file_size(e2);
    else
      total += 4096;
  }
  return total;
}

} // namespace aetherium::sandbox::microvm
