// microvm_bench: how long from "give me a microVM sandbox" to "its first command has
// exited" through the QEMU microVM adapter, beside a floor measured in the same run: a
// raw QEMU clone of the same snapshot (same kernel, initramfs, root image and QEMU
// arguments, started as root with no namespaces and no control group) that does the same
// guest work: hello, setup of a workspace disk made beforehand, exec /bin/true and the
// workspace listing the adapter asks for after every exec. The same clone's hello is a
// second floor. Also: the adapter with a warm pool, cold boots, and the memory (PSS, RSS)
// of idle clones and of a cold-booted VM.
//
// Needs root, qemu-system-x86_64, mkfs.ext4, the kernel folder in $AETHERIUM_MICROVM_KERNEL
// (deploy/images/build-microvm-kernel.sh) and the busybox image ($AETHERIUM_TEST_ROOTFS or
// deploy/images/build-busybox-rootfs.sh).
//
// Usage: microvm_bench [--runs 50]
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/timing.hpp"

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/microvm/guest_protocol.hpp"
#include "adapters/sandbox/microvm/microvm_sandbox_runtime.hpp"
#include "adapters/sandbox/microvm/vm_parts.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/sandbox_state.hpp"
#include "adapters/sandbox/spec_checks.hpp"

namespace {

using namespace aetherium;
namespace mv = sandbox::microvm;
namespace proto = sandbox::microvm::protocol;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr const char* cgroup_parent = "aetherium-bench-microvm";
constexpr const char* stamp_name = "mkfs-stamp";    // argv[0] of the timestamping mkfs wrapper
constexpr const char* stamp_file = "mkfs-start.ns"; // what it writes into the VM's folder

// -- the mkfs wrapper --------------------------------------------------------------------
//
// The adapter answers hello inside provision, then makes the workspace filesystem
// (mkfs.ext4 into the VM's workspace.img) and sends setup. The bench passes itself, under
// the name mkfs-stamp, as the adapter's mkfs binary: it writes CLOCK_MONOTONIC (what
// steady_clock reads) into <vm dir>/mkfs-start.ns and execs the real mkfs.ext4. That
// instant is the adapter's "hello answered" point plus one fork/exec.

std::string real_mkfs() {
  for (const char* p : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/local/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

[[noreturn]] void mkfs_wrapper(int argc, char** argv) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  if (argc >= 3) {
    std::string image = argv[argc - 2]; // ... -d DIR IMAGE SIZE
    if (image.find("/vms/") != std::string::npos && image.size() > 14 &&
        image.compare(image.size() - 14, 14, "/workspace.img") == 0) {
      std::string out = image.substr(0, image.size() - 14) + "/" + stamp_file;
      if (FILE* f = std::fopen(out.c_str(), "w")) {
        std::fprintf(f, "%lld\n", static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
        std::fclose(f);
      }
    }
  }
  std::string mkfs = real_mkfs();
  argv[0] = const_cast<char*>(mkfs.c_str());
  ::execv(mkfs.c_str(), argv);
  std::fprintf(stderr, "mkfs-stamp: exec mkfs.ext4: %s\n", std::strerror(errno));
  ::_exit(127);
}

/// The wrapper's timestamp for VM `id`, in ms after `start`; nullopt when missing.
std::optional<double> stamp_ms(const std::string& state_dir, const std::string& id, steady::time_point start) {
  std::ifstream in(state_dir + "/vms/" + id + "/" + stamp_file);
  long long ns = 0;
  if (!(in >> ns)) return std::nullopt;
  steady::time_point at{std::chrono::duration_cast<steady::duration>(std::chrono::nanoseconds(ns))};
  return std::chrono::duration<double, std::milli>(at - start).count();
}

// -- figures -----------------------------------------------------------------------------

struct row {
  std::string what;
  std::vector<double> ms;
  std::string note;
  bool failed = false;
};

using bench::elapsed_ms;
using bench::percentile;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, std::size_t n = 1500) {
  return text.size() > n ? text.substr(text.size() - n) : text;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "microvm_bench: %s\n", why.c_str());
  std::exit(1);
}

std::string rootfs() {
  if (const char* env = std::getenv("AETHERIUM_TEST_ROOTFS"); env && *env) return env;
  sandbox::process_request build;
  build.argv = {"/bin/sh", AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh"};
  for (const char* name : {"PATH", "HOME", "AETHERIUM_CACHE"})
    if (const char* v = std::getenv(name)) build.env.push_back(std::string(name) + "=" + v);
  auto ran = sandbox::run_captured(build);
  if (!ran || ran->outcome.exit_code != 0) return {};
  return ran->out.substr(0, ran->out.find('\n'));
}

// -- the adapter -------------------------------------------------------------------------

struct bench_env {
  std::string work, image, kernel, stamp;
  int workspaces = 0;

  std::unique_ptr<sandbox_runtime> runtime(const std::string& name, bool templates, std::size_t warm_pool) {
    microvm_sandbox_options o;
    o.state_dir = work + "/" + name;
    o.kernel_dir = kernel;
    o.guest_agent_binary = AETHERIUM_GUEST_AGENT;
    o.mkfs_binary = stamp;
    o.templates = templates;
    o.warm_pool_size = warm_pool;
    o.cgroup_parent = cgroup_parent;
    auto rt = make_microvm_sandbox_runtime(o);
    if (!rt) die("the microVM adapter (" + name + "): " + rt.err().detail);
    return std::move(*rt);
  }

  /// The spec every adapter row provisions: the busybox image, default limits, uid 1000.
  sandbox_spec spec() {
    sandbox_spec s;
    s.runtime = sandbox_runtime_kind::microvm;
    s.rootfs_dir = image;
    s.workspace_dir = work + "/ws-" + std::to_string(++workspaces);
    fs::create_directories(s.workspace_dir);
    (void)!::chown(s.workspace_dir.c_str(), 1000, 1000);
    s.uid = s.gid = 1000;
    return s;
  }
};

/// One provision + exec(/bin/true): total ms, provision-only ms and the hello point.
struct timed_start {
  double total = 0, provision = 0;
  std::optional<double> hello;
  sandbox_handle handle;
  std::string error;
};

timed_start provision_and_exec(bench_env& env, sandbox_runtime& rt, const std::string& state_dir) {
  timed_start t;
  auto spec = env.spec();
  auto start = steady::now();
  auto h = rt.provision(spec);
  t.provision = elapsed_ms(start);
  if (!h) {
    t.error = "provision: " + h.err().detail;
    return t;
  }
  t.handle = *h;
  exec_request request;
  request.argv = {"/bin/true"};
  request.deadline = steady::now() + std::chrono::minutes(2);
  auto status = rt.exec(*h, request);
  t.total = elapsed_ms(start);
  if (!status || status->exit_code != 0)
    t.error = "exec /bin/true: " + (status ? "exit " + std::to_string(status->exit_code) : status.err().detail);
  t.hello = stamp_ms(state_dir, h->id, start);
  return t;
}

std::string qemu_pid_file(const std::string& state_dir, const std::string& id) {
  return state_dir + "/vms/" + id + "/qemu.pid";
}

pid_t read_pid(const std::string& file) {
  std::ifstream in(file);
  long pid = 0;
  return (in >> pid) && pid > 0 ? static_cast<pid_t>(pid) : -1;
}

std::vector<std::string> cmdline(pid_t pid) {
  std::string raw = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < raw.size()) {
    auto end = raw.find('\0', at);
    if (end == std::string::npos) end = raw.size();
    out.push_back(raw.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string arg_after(const std::vector<std::string>& argv, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) return argv[i + 1];
  return {};
}

/// What the bench learns from the adapter's first clone, to start the same VM raw.
struct adapter_vm {
  std::vector<std::string> argv; // its QEMU's command line
  std::string dir;               // its VM folder
  std::uint64_t disk_bytes = 0;
};

/// Directories of `state_dir`/vms that are no sandbox yet (a warm clone or one starting).
std::vector<std::string> unclaimed_vms(const std::string& state_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(state_dir + "/vms", ec)) {
    auto id = e.path().filename().string();
    if (sandbox::valid_sandbox_id(id) && !fs::exists(e.path() / "meta.json")) out.push_back(id);
  }
  return out;
}

// -- raw QEMU ----------------------------------------------------------------------------

struct raw_shape {
  std::string qemu, accel, cpu, kernel, initramfs, image, khz;
  std::uint64_t ram_mib = 0, disk_bytes = 0;
};

/// The adapter's own QEMU command line (vm_parts.hpp) for `s`, VM folder `dir`, RAM in
/// the memfd at descriptor 3, shared (template) or not (clone).
std::vector<std::string> raw_argv(const raw_shape& s, const std::string& dir, bool share, bool incoming) {
  sandbox::microvm::qemu_shape q{s.qemu, s.accel, s.kernel, s.initramfs, s.image, s.ram_mib, s.khz};
  return sandbox::microvm::qemu_command(q, dir, true, share, incoming);
}

/// fork/exec QEMU as root in `dir` (no namespaces, no control group); `fds` become 3, 4...
pid_t spawn_qemu(const std::vector<std::string>& args, const std::string& dir, const std::vector<int>& fds) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string log = dir + "/qemu.log";
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::vector<int> moved;
  for (int fd : fds) moved.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
  for (std::size_t i = 0; i < moved.size(); ++i) {
    int target = static_cast<int>(3 + i);
    if (::dup2(moved[i], target) != target || ::fcntl(target, F_SETFD, 0) != 0) ::_exit(126);
  }
  ::dup2(null, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ::syscall(SYS_close_range, 3 + fds.size(), ~0u, 0x4 /* CLOSE_RANGE_CLOEXEC */);
  if (::chdir(dir.c_str()) != 0) ::_exit(126);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

void end_qemu(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

bool alive(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

/// The host end of a guest agent's port, spoken to directly (the adapter's agent_channel
/// does the same with a reader thread).
struct raw_channel {
  int fd = -1;
  std::string buffer;

  result<void> send(proto::type kind, std::uint32_t id, const std::string& body) {
    std::string wire = proto::encode(kind, id, body);
    if (::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(wire.size()))
      return make_error(errc::unavailable, std::string("send to the guest agent: ") + std::strerror(errno));
    return {};
  }

  /// The next frame about request `id` (frames about others are dropped).
  result<proto::frame> next(std::uint32_t id, steady::time_point until) {
    for (;;) {
      proto::frame f;
      int got = proto::decode(buffer, f);
      if (got < 0) return make_error(errc::unavailable, "the guest sent a malformed frame");
      if (got == 1) {
        if (f.id == id) return f;
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()).count();
      if (left <= 0) return make_error(errc::unavailable, "no answer from the guest agent in time");
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0) continue;
      char chunk[65536];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return make_error(errc::unavailable, "the agent socket closed");
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends request `kind` and reads its frames until one of kind `last` (or an error).
  result<proto::frame> call(proto::type kind, std::uint32_t id, const std::string& body, proto::type last,
                            steady::time_point until) {
    if (auto sent = send(kind, id, body); !sent) return sent.err();
    for (;;) {
      auto f = next(id, until);
      if (!f) return f.err();
      // A tree request ends with tree_end, or at once with tree_unchanged (nothing written).
      if (f->kind == last || (last == proto::type::tree_end && f->kind == proto::type::tree_unchanged)) return f;
      if (f->kind == proto::type::error) {
        proto::reader r{f->body};
        std::uint32_t code = 0;
        std::string detail;
        r.u32(code);
        r.str(detail);
        return make_error(errc::unavailable, "the guest answered error " + std::to_string(code) + ": " + detail);
      }
    }
  }
};

/// Sends hello on the agent socket and waits for the guest's hello.
result<void> say_hello(raw_channel& ch, steady::time_point until) {
  auto f = ch.call(proto::type::hello, 1, proto::writer{}.u32(proto::version).take(), proto::type::hello, until);
  if (!f) return f.err();
  return {};
}

result<void> wait_migration(mv::qmp_client& qmp, steady::time_point until) {
  for (;;) {
    auto info = qmp.execute(R"({"execute":"query-migrate"})", until);
    if (!info) return info.err();
    auto doc = nlohmann::json::parse(*info, nullptr, false);
    auto status = doc.is_object() ? doc.value("status", "") : "";
    if (status == "completed") return {};
    if (status == "failed" || status == "cancelled") return make_error(errc::unavailable, "migration " + status);
    if (steady::now() > until) return make_error(errc::unavailable, "migration took too long");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

result<void> make_vm_dir(const std::string& dir, std::uint64_t disk_bytes) {
  if (::mkdir(dir.c_str(), 0700) != 0) return make_error(errc::unavailable, "mkdir " + dir + ": " + std::strerror(errno));
  std::string disk = dir + "/workspace.img";
  int f = ::open(disk.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = f >= 0 && ::ftruncate(f, static_cast<off_t>(disk_bytes)) == 0;
  if (f >= 0) ::close(f);
  if (!ok) return make_error(errc::unavailable, "cannot make " + disk);
  return {};
}

/// A template booted with raw QEMU: RAM in a sealed memfd, device state in a file.
struct raw_template {
  sandbox::unique_fd ram;
  std::string state_path;
};

result<raw_template> raw_make_template(const raw_shape& s, const std::string& root) {
  raw_template t;
  std::string dir = root + "/template";
  if (auto made = make_vm_dir(dir, s.disk_bytes); !made) return made.err();
  t.ram.reset(::memfd_create("bench-template", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!t.ram.valid() || ::ftruncate(t.ram.get(), static_cast<off_t>(s.ram_mib << 20)) != 0)
    return make_error(errc::unavailable, std::string("memfd: ") + std::strerror(errno));
  auto until = steady::now() + std::chrono::minutes(5);
  pid_t pid = spawn_qemu(raw_argv(s, dir, true, false), dir, {t.ram.get()});
  auto failed = [&](const std::string& why) -> result<raw_template> {
    end_qemu(pid);
    return make_error(errc::unavailable, "raw template: " + why + "\n" + tail(slurp(dir + "/qemu.log")) +
                                             tail(slurp(dir + "/console.log")));
  };
  auto agent = mv::connect_unix(dir + "/agent.sock", until, [pid] { return alive(pid); });
  if (!agent) return failed(agent.err().detail);
  raw_channel ch{agent->get(), {}};
  if (auto hi = say_hello(ch, until); !hi) return failed(hi.err().detail);
  auto qmp = mv::qmp_client::connect(dir + "/qmp.sock", until);
  if (!qmp) return failed(qmp.err().detail);
  t.state_path = root + "/template.state";
  sandbox::unique_fd out{::open(t.state_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (!out.valid()) return failed("cannot write " + t.state_path);
  for (auto cmd : {R"({"execute":"stop"})",
                   R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})"})
    if (auto done = qmp->execute(cmd, until); !done) return failed(done.err().detail);
  if (auto done = qmp->execute(R"({"execute":"getfd","arguments":{"fdname":"state"}})", until, out.get()); !done)
    return failed(done.err().detail);
  if (auto done = qmp->execute(R"({"execute":"migrate","arguments":{"uri":"fd:state"}})", until); !done)
    return failed(done.err().detail);
  if (auto done = wait_migration(*qmp, until); !done) return failed(done.err().detail);
  end_qemu(pid);
  if (::fcntl(t.ram.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    return make_error(errc::unavailable, std::string("sealing the template's RAM: ") + std::strerror(errno));
  std::error_code ec;
  fs::remove_all(dir, ec);
  return t;
}

/// The adapter's mkfs of a workspace disk (personalize): an empty directory's contents,
/// owned by uid and gid 1000, into `image` of `bytes`, made here.
bool mkfs_workspace(const std::string& empty_dir, const std::string& image, std::uint64_t bytes) {
  ::unlink(image.c_str());
  int f = ::open(image.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  bool ok = f >= 0 && ::ftruncate(f, static_cast<off_t>(bytes)) == 0;
  if (f >= 0) ::close(f);
  if (!ok) return false;
  sandbox::process_request req;
  req.argv = {real_mkfs(), "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0", "-E",
              "root_owner=1000:1000,nodiscard", "-d", empty_dir, image, std::to_string(bytes / 1024) + "k"};
  req.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  auto ran = sandbox::run_process(req);
  return ran && ran->exit_code == 0;
}

/// Points of one raw clone, in ms after QEMU's fork.
struct raw_points {
  double hello = 0, setup = 0, exited = 0, tree_end = 0;
};

/// One raw clone doing a sandbox's first command: its folder and workspace disk (mkfs of
/// an empty directory, as the adapter's) made beforehand, untimed; then QEMU start ->
/// migrate-incoming -> cont -> hello -> setup -> exec /bin/true -> tree, as the adapter's
/// provision and exec send them, with the same fields as the bench's adapter spec.
result<raw_points> raw_clone(const raw_shape& s, const raw_template& t, const std::string& dir,
                             const std::string& empty_dir) {
  sandbox::unique_fd state{::open(t.state_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!state.valid()) return make_error(errc::unavailable, "template state missing");
  if (::mkdir(dir.c_str(), 0700) != 0) return make_error(errc::unavailable, "mkdir " + dir + ": " + std::strerror(errno));
  if (!mkfs_workspace(empty_dir, dir + "/workspace.img", s.disk_bytes))
    return make_error(errc::unavailable, "mkfs.ext4 of " + dir + "/workspace.img failed");
  // The frames, built before the clock starts (the adapter builds them in provision and exec).
  sandbox_limits limits;
  std::string seed(32, '\0');
  if (::getrandom(seed.data(), seed.size(), 0) != 32) return make_error(errc::unavailable, "getrandom failed");
  exec_request request;
  request.argv = {"/bin/true"};
  proto::writer ew;
  ew.str(request.cwd).u32(static_cast<std::uint32_t>(request.argv.size()));
  for (auto& a : request.argv) ew.str(a);
  auto env = sandbox::sandbox_environment(request, "", ""); // PATH=..., HOME=/tmp
  ew.u32(static_cast<std::uint32_t>(env.size()));
  for (auto& e : env) ew.str(e);
  ew.u32(0); // no stdin
  std::string exec_body = ew.take();

  raw_points at;
  auto start = steady::now();
  auto until = start + std::chrono::minutes(2);
  pid_t pid = spawn_qemu(raw_argv(s, dir, false, true), dir, {t.ram.get(), state.get()});
  auto failed = [&](const std::string& why) -> result<raw_points> {
    end_qemu(pid);
    return make_error(errc::unavailable, "raw clone: " + why + "\n" + tail(slurp(dir + "/qemu.log")) +
                                             tail(slurp(dir + "/console.log")));
  };
  auto agent = mv::connect_unix(dir + "/agent.sock", until, [pid] { return alive(pid); });
  if (!agent) return failed(agent.err().detail);
  auto qmp = mv::qmp_client::connect(dir + "/qmp.sock", until);
  if (!qmp) return failed(qmp.err().detail);
  for (auto cmd : {R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})",
                   R"({"execute":"migrate-incoming","arguments":{"uri":"fd:4"}})"})
    if (auto done = qmp->execute(cmd, until); !done) return failed(done.err().detail);
  if (auto done = wait_migration(*qmp, until); !done) return failed(done.err().detail);
  if (auto done = qmp->execute(R"({"execute":"cont"})", until); !done) return failed(done.err().detail);
  raw_channel ch{agent->get(), {}};
  if (auto hi = say_hello(ch, until); !hi) return failed(hi.err().detail);
  at.hello = elapsed_ms(start);
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
  proto::writer sw;
  sw.u64(static_cast<std::uint64_t>(now.count()))
      .str(seed)
      .u32(1000)
      .u32(1000)
      .u64(limits.tmp_bytes)
      .u64(limits.memory_bytes)
      .u32(limits.pids)
      .u32(0)  // secrets
      .u32(0); // tunnels
  if (auto ok = ch.call(proto::type::setup, 2, sw.take(), proto::type::ok, until); !ok)
    return failed("setup: " + ok.err().detail);
  at.setup = elapsed_ms(start);
  auto exited = ch.call(proto::type::exec, 3, exec_body, proto::type::exited, until);
  if (!exited) return failed("exec /bin/true: " + exited.err().detail);
  at.exited = elapsed_ms(start);
  {
    proto::reader r{exited->body};
    std::int32_t code = -1;
    if (!r.i32(code) || code != 0) return failed("/bin/true exited " + std::to_string(code));
  }
  if (auto end = ch.call(proto::type::tree, 4, {}, proto::type::tree_end, until); !end)
    return failed("tree: " + end.err().detail);
  at.tree_end = elapsed_ms(start);
  end_qemu(pid);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return at;
}

// -- memory ------------------------------------------------------------------------------

struct memory_use {
  double pss_mib = 0, rss_mib = 0;
  int vms = 0;
};

/// Sums Pss and Rss of smaps_rollup over `pids`.
memory_use memory_of(const std::vector<pid_t>& pids) {
  memory_use m;
  for (pid_t pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string key;
    long kib = 0;
    bool seen = false;
    while (in >> key) {
      if (key == "Pss:" || key == "Rss:") {
        in >> kib;
        (key == "Pss:" ? m.pss_mib : m.rss_mib) += static_cast<double>(kib) / 1024.0;
        seen = true;
      }
      in.ignore(256, '\n');
    }
    if (seen) ++m.vms;
  }
  return m;
}

/// `count` idle sandboxes of `rt` alive at once: their QEMUs' PSS and RSS.
memory_use idle_memory(bench_env& env, sandbox_runtime& rt, const std::string& state_dir, int count, std::string& error) {
  std::vector<sandbox_handle> live;
  for (int i = 0; i < count; ++i) {
    auto spec = env.spec();
    auto h = rt.provision(spec);
    if (!h) {
      error = "provision: " + h.err().detail;
      break;
    }
    live.push_back(*h);
  }
  std::this_thread::sleep_for(std::chrono::seconds(3)); // let the guests go idle
  std::vector<pid_t> pids;
  for (auto& h : live) pids.push_back(read_pid(qemu_pid_file(state_dir, h.id)));
  auto m = memory_of(pids);
  for (auto& h : live) (void)rt.destroy(h);
  return m;
}

/// Bytes of guest RAM the adapter's template memfds hold (this process owns them).
double template_memfd_mib() {
  double mib = 0;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/proc/self/fd", ec)) {
    std::error_code e2;
    auto target = fs::read_symlink(e.path(), e2).string();
    if (target.rfind("/memfd:aetherium-template", 0) != 0) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0) mib += static_cast<double>(st.st_blocks) * 512.0 / (1 << 20);
  }
  return mib;
}

// -- output ------------------------------------------------------------------------------

/// The table; "x raw" against `floor` (p50), "x hello" against `hello` (p50).
void print(const std::vector<row>& rows, const row& floor, const row& hello) {
  auto ratio = [](const row& r, const row& base) -> std::string {
    double b = percentile(base.ms, 0.5);
    if (b <= 0 || r.ms.empty()) return "-";
    char out[32];
    std::snprintf(out, sizeof out, "%.2f", percentile(r.ms, 0.5) / b);
    return out;
  };
  std::printf("%-62s %5s %9s %9s %7s %7s\n", "what (ms)", "runs", "p50", "p99", "x raw", "x hello");
  for (const auto& r : rows)
    std::printf("%-62s %5zu %9.1f %9.1f %7s %7s %s\n", r.what.c_str(), r.ms.size(), percentile(r.ms, 0.5),
                percentile(r.ms, 0.99), ratio(r, floor).c_str(), ratio(r, hello).c_str(), r.note.c_str());
}

} // namespace

int main(int argc, char** argv) {
  if (fs::path(argv[0]).filename() == stamp_name) mkfs_wrapper(argc, argv);
  int runs = 50;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: microvm_bench [--runs 50]\n");
      return 2;
    }
  }
  const int cold_runs = std::min(runs, 10);
  if (::geteuid() != 0) die("needs root");
  const char* kernel = std::getenv("AETHERIUM_MICROVM_KERNEL");
  if (!kernel || !*kernel)
    die("AETHERIUM_MICROVM_KERNEL is not set: make a kernel folder with deploy/images/build-microvm-kernel.sh");
  if (real_mkfs().empty()) die("mkfs.ext4 not found (apt-get install -y e2fsprogs)");
  bench_env env;
  env.kernel = kernel;
  env.image = rootfs();
  if (env.image.empty()) die("no busybox image (set AETHERIUM_TEST_ROOTFS or install busybox-static)");
  char tmpl[] = "/tmp/aetherium-microvm-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) die(std::string("mkdtemp: ") + std::strerror(errno));
  env.work = tmpl;
  ::chmod(env.work.c_str(), 0711); // the adapter's QEMUs run unprivileged below it
  auto self = fs::read_symlink("/proc/self/exe");
  env.stamp = env.work + "/" + stamp_name;
  fs::create_symlink(self, env.stamp);
  auto layout = sandbox::cgroup_layout::detect();
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(env.work, ec);
    if (layout) {
      auto dirs = layout->directories(std::string("/") + cgroup_parent);
      for (auto& d : dirs) ::rmdir(d.c_str());
    }
  };
  auto fail_setup = [&](const std::string& why) {
    cleanup();
    die(why);
  };

  std::vector<row> rows;
  // 1. Clones through the adapter. The first provision probes the accelerator and boots
  // the template: timed on its own, kept out of the figures.
  std::string clone_state = env.work + "/clones";
  auto clones = env.runtime("clones", true, 0);
  adapter_vm seen;
  row first{"first provision + exec (accel probe, template boot)", {}, {}};
  {
    auto t = provision_and_exec(env, *clones, clone_state);
    if (!t.error.empty()) fail_setup("first clone through the adapter: " + t.error);
    first.ms.push_back(t.total);
    // Its QEMU's command line: accel, RAM, kernel arguments and QEMU, for the raw clones.
    pid_t pid = read_pid(qemu_pid_file(clone_state, t.handle.id));
    seen.argv = cmdline(pid);
    seen.dir = clone_state + "/vms/" + t.handle.id;
    struct stat st {};
    if (::stat((seen.dir + "/workspace.img").c_str(), &st) == 0) seen.disk_bytes = static_cast<std::uint64_t>(st.st_size);
    (void)clones->destroy(t.handle);
  }
  if (seen.argv.empty()) fail_setup("could not read the command line of the adapter's QEMU");
  row clone_hello{"adapter clone: provision -> hello (mkfs start, see below)", {}, {}};
  row clone_provision{"adapter clone: provision", {}, {}};
  row clone_total{"adapter clone: provision + exec /bin/true", {}, {}};
  for (int i = 0; i < runs; ++i) {
    auto t = provision_and_exec(env, *clones, clone_state);
    if (!t.handle.id.empty()) (void)clones->destroy(t.handle);
    if (!t.error.empty()) {
      clone_total.note = "failed at run " + std::to_string(i) + ": " + tail(t.error, 300);
      clone_total.failed = true;
      break;
    }
    clone_total.ms.push_back(t.total);
    clone_provision.ms.push_back(t.provision);
    if (t.hello) clone_hello.ms.push_back(*t.hello);
  }
  double memfd_mib = template_memfd_mib();

  // 3. The floor: raw QEMU clones of the same snapshot (images taken from the adapter).
  raw_shape shape;
  shape.qemu = seen.argv[0];
  shape.accel = arg_after(seen.argv, "-accel");
  shape.cpu = arg_after(seen.argv, "-cpu");
  shape.kernel = arg_after(seen.argv, "-kernel"); // the adapter boots its own copy
  shape.ram_mib = std::strtoull(arg_after(seen.argv, "-m").c_str(), nullptr, 10);
  shape.disk_bytes = seen.disk_bytes;
  {
    auto append = arg_after(seen.argv, "-append");
    auto at = append.find("tsc_early_khz=");
    if (at != std::string::npos) shape.khz = append.substr(at + 14, append.find(' ', at) - at - 14);
    std::error_code ec;
    for (auto& e : fs::directory_iterator(clone_state + "/images", ec)) {
      auto name = e.path().filename().string();
      if (name.rfind("initramfs-", 0) == 0 && e.path().extension() == ".cpio") shape.initramfs = e.path().string();
      if (name.rfind("rootfs-", 0) == 0 && e.path().extension() == ".ext4") shape.image = e.path().string();
    }
  }
  if (shape.initramfs.empty() || shape.image.empty() || shape.accel.empty() || shape.ram_mib == 0 ||
      shape.khz.empty() || shape.disk_bytes == 0)
    fail_setup("could not take the initramfs, root image and shape from the adapter's state dir " + clone_state);
  std::string argv_check;
  {
    // The adapter's clone command line, with its VM folder in place of ours, against ours.
    std::string mine_dir = env.work + "/raw/check";
    auto mine = raw_argv(shape, mine_dir, false, true);
    auto theirs = seen.argv;
    for (auto& a : theirs)
      for (auto at = a.find(seen.dir); at != std::string::npos; at = a.find(seen.dir, at + mine_dir.size()))
        a.replace(at, seen.dir.size(), mine_dir);
    if (mine == theirs) {
      argv_check = "identical to the adapter's clones (but the VM folder)";
    } else {
      argv_check = "DIFFERS from the adapter's clone:";
      for (std::size_t i = 0; i < std::max(mine.size(), theirs.size()); ++i) {
        auto a = i < mine.size() ? mine[i] : "(none)";
        auto b = i < theirs.size() ? theirs[i] : "(none)";
        if (a != b) argv_check += "\n    #" + std::to_string(i) + " bench '" + a + "' adapter '" + b + "'";
      }
    }
  }
  fs::create_directories(env.work + "/raw");
  auto tpl = raw_make_template(shape, env.work + "/raw");
  if (!tpl) fail_setup(tpl.err().detail);
  row raw{"raw QEMU clone -> first command (floor)", {}, {}};
  row raw_hello{"raw QEMU clone: start -> hello answered (floor)", {}, {}};
  row raw_setup{"raw QEMU clone: start -> setup ok", {}, {}};
  fs::create_directories(env.work + "/raw/empty");
  for (int i = 0; i < runs; ++i) {
    auto at = raw_clone(shape, *tpl, env.work + "/raw/clone", env.work + "/raw/empty");
    if (!at) {
      raw.note = "failed at run " + std::to_string(i) + ": " + tail(at.err().detail, 300);
      raw.failed = true;
      break;
    }
    raw.ms.push_back(at->tree_end);
    raw_hello.ms.push_back(at->hello);
    raw_setup.ms.push_back(at->setup);
  }
  if (!tpl->state_path.empty()) ::unlink(tpl->state_path.c_str());

  // 5a. Idle clones' memory (the clone runtime's template is there already).
  std::string mem_error;
  auto clone_memory = idle_memory(env, *clones, clone_state, 5, mem_error);
  clones.reset();

  // 2. A warm pool of one: each timed provision should find a started clone.
  std::string warm_state = env.work + "/warm";
  row warm{"adapter warm pool (1): provision + exec /bin/true", {}, {}};
  row warm_hello{"adapter warm pool (1): provision -> mkfs start", {}, {}};
  {
    auto pool = env.runtime("warm", true, 1);
    auto t = provision_and_exec(env, *pool, warm_state); // builds the template, names the shape
    if (!t.handle.id.empty()) (void)pool->destroy(t.handle);
    if (!t.error.empty()) {
      warm.note = "first provision failed: " + tail(t.error, 300);
      warm.failed = true;
    }
    // The refill is a clone: once its folder is there, give it 1.5x the slowest clone.
    double margin_ms = std::max(500.0, 1.5 * percentile(clone_hello.ms.empty() ? clone_provision.ms : clone_hello.ms, 0.99));
    int hits = 0;
    for (int i = 0; i < runs && !warm.failed; ++i) {
      auto until = steady::now() + std::chrono::minutes(2);
      std::vector<std::string> ready;
      while ((ready = unclaimed_vms(warm_state)).empty() && steady::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (ready.empty()) {
        warm.note = "the pool did not refill";
        warm.failed = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(margin_ms)));
      auto r = provision_and_exec(env, *pool, warm_state);
      if (!r.handle.id.empty()) (void)pool->destroy(r.handle);
      if (!r.error.empty()) {
        warm.note = "failed at run " + std::to_string(i) + ": " + tail(r.error, 300);
        warm.failed = true;
        break;
      }
      warm.ms.push_back(r.total);
      if (r.hello) warm_hello.ms.push_back(*r.hello);
      if (std::find(ready.begin(), ready.end(), r.handle.id) != ready.end()) ++hits;
    }
    if (!warm.failed) warm.note = "(" + std::to_string(hits) + "/" + std::to_string(warm.ms.size()) + " from the pool)";
    // The adapter's destructor neither stops nor waits for its refill thread, which uses
    // the runtime: let the last refill finish before the runtime goes.
    auto until = steady::now() + std::chrono::minutes(2);
    while (unclaimed_vms(warm_state).empty() && steady::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(margin_ms)));
  }

  // 4. Cold boots, and 5b. one cold-booted VM's memory.
  std::string cold_state = env.work + "/cold";
  row cold{"adapter cold boot: provision + exec /bin/true", {}, {}};
  row cold_hello{"adapter cold boot: provision -> hello (mkfs start)", {}, {}};
  memory_use cold_memory;
  {
    auto booted = env.runtime("cold", false, 0);
    for (int i = 0; i < cold_runs; ++i) {
      auto t = provision_and_exec(env, *booted, cold_state);
      if (!t.handle.id.empty()) (void)booted->destroy(t.handle);
      if (!t.error.empty()) {
        cold.note = "failed at run " + std::to_string(i) + ": " + tail(t.error, 300);
        cold.failed = true;
        break;
      }
      cold.ms.push_back(t.total);
      if (t.hello) cold_hello.ms.push_back(*t.hello);
    }
    if (!cold.failed) cold_memory = idle_memory(env, *booted, cold_state, 1, mem_error);
  }

  // mkfs of the workspace disk, what provision adds after hello: as the adapter runs it.
  row mkfs{"mkfs.ext4 -d (empty) of the workspace image (part of provision)", {}, {}};
  {
    std::string dir = env.work + "/mkfs";
    fs::create_directories(dir + "/empty");
    for (int i = 0; i < runs; ++i) {
      auto start = steady::now();
      if (!mkfs_workspace(dir + "/empty", dir + "/workspace.img", shape.disk_bytes)) {
        mkfs.note = "failed";
        mkfs.failed = true;
        break;
      }
      mkfs.ms.push_back(elapsed_ms(start));
    }
  }

  // Floors for what the adapter adds to a raw clone before hello: QEMU's confinement
  // (start_qemu's namespaces), and the timestamping wrapper's own exec.
  auto spawn_wait = [](const std::vector<std::string>& args, bool confine) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (confine && (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0 ||
                      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0))
        ::_exit(126);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::vector<char*> v;
      for (auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
      v.push_back(nullptr);
      ::execv(v[0], v.data());
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  };
  auto floor_row = [&](const std::string& what, const std::vector<std::string>& args, bool confine) {
    row r{what, {}, {}};
    for (int i = 0; i < runs; ++i) {
      auto start = steady::now();
      if (!spawn_wait(args, confine)) {
        r.note = "failed";
        r.failed = true;
        break;
      }
      r.ms.push_back(elapsed_ms(start));
    }
    return r;
  };
  row plain = floor_row("fork/exec /bin/true", {"/bin/true"}, false);
  row confined = floor_row("fork, unshare(mnt,net,ipc,uts), exec /bin/true", {"/bin/true"}, true);
  // As start_qemu does: a new control group (all hierarchies made, memory and pids joined,
  // and the unified one on hybrid hosts), joined by the child before exec.
  row cgroup_join{"fork, join a new cgroup (as the adapter), exec /bin/true", {}, {}};
  if (layout) {
    for (int i = 0; i < runs; ++i) {
      std::string path = std::string("/") + cgroup_parent + "/floor-" + std::to_string(i);
      auto start = steady::now();
      auto dirs = layout->directories(path);
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        std::error_code ec;
        fs::create_directories(*it, ec);
      }
      std::vector<std::string> procs = {layout->controller_dir("memory", path) + "/cgroup.procs",
                                        layout->controller_dir("pids", path) + "/cgroup.procs"};
      for (auto& d : dirs)
        if (layout->mode() == sandbox::cgroup_mode::v2 || d.find("/unified/") != std::string::npos)
          procs.push_back(d + "/cgroup.procs");
      std::sort(procs.begin(), procs.end());
      procs.erase(std::unique(procs.begin(), procs.end()), procs.end());
      pid_t pid = ::fork();
      if (pid == 0) {
        for (auto& f : procs) {
          int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
          if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
          ::close(fd);
        }
        ::execl("/bin/true", "/bin/true", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      double ms = elapsed_ms(start);
      (void)sandbox::remove_cgroup(*layout, path, steady::now() + std::chrono::seconds(10));
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cgroup_join.note = "failed";
        cgroup_join.failed = true;
        break;
      }
      cgroup_join.ms.push_back(ms);
    }
  }
  row mkfs_v = floor_row("mkfs.ext4 -V", {real_mkfs(), "-V"}, false);
  row stamp_v = floor_row("mkfs.ext4 -V through the timestamping wrapper", {env.stamp, "-V"}, false);

  // -- report ------------------------------------------------------------------------------
  bool kvm_node = ::access("/dev/kvm", R_OK | W_OK) == 0;
  std::string qemu_version;
  {
    sandbox::process_request v;
    v.argv = {shape.qemu, "--version"};
    if (auto ran = sandbox::run_captured(v)) qemu_version = ran->out.substr(0, ran->out.find('\n'));
  }
  std::printf("accel: %s (adapter option accel=auto; %s)\n", shape.accel.c_str(),
              shape.accel == "kvm" ? "KVM figures"
              : kvm_node ? "/dev/kvm is there but the probe VM did not boot under KVM: TCG figures, no KVM figures"
                         : "no /dev/kvm: TCG figures, no KVM figures");
  std::printf("cgroups: %s\n", layout ? sandbox::to_string(layout->mode()) : "unknown");
  std::printf("%s; guest RAM %llu MiB, workspace disk %llu MiB, 1 vCPU; %d runs each, cold boots %d\n",
              qemu_version.c_str(), static_cast<unsigned long long>(shape.ram_mib),
              static_cast<unsigned long long>(shape.disk_bytes >> 20), runs, cold_runs);
  std::printf("raw QEMU argv: %s\n\n", argv_check.c_str());
  std::vector<row> table = {raw,        raw_hello, raw_setup, clone_hello, clone_provision, clone_total,
                            warm_hello, warm,      cold_hello, cold,       first,           mkfs,
                            plain,      confined,  cgroup_join, mkfs_v,    stamp_v};
  print(table, raw, raw_hello);
  std::printf("\nThe floor is a raw clone doing the guest side of a sandbox's first command: hello, setup\n"
              "(workspace disk mounted, /tmp, /proc, /dev, /run/secrets, limits), exec /bin/true, then the\n"
              "workspace listed back (tree), as the adapter sends them; its workspace disk is made with the\n"
              "adapter's mkfs.ext4 before QEMU starts (untimed). x raw is against its p50, x hello against the\n"
              "raw clone's hello. \"hello\" for the adapter = when its mkfs.ext4 of the workspace started (a\n"
              "timestamping wrapper passed as mkfs_binary; one extra exec, in every adapter row): provision\n"
              "answers hello, then makes the workspace filesystem and sends setup; exec then runs the command\n"
              "and copies the workspace back into the host directory.\n");
  auto ratio = [](const row& r, const row& base, double p) {
    double b = percentile(base.ms, p);
    return b > 0 && !r.ms.empty() ? percentile(r.ms, p) / b : 0.0;
  };
  double r50 = ratio(clone_total, raw, 0.5), r99 = ratio(clone_total, raw, 0.99);
  std::printf("\ntarget: adapter clone provision + exec /bin/true <= 1.2x raw QEMU clone -> first command:\n"
              "  p50 %.2fx, p99 %.2fx: %s\n",
              r50, r99, r50 > 0 && r50 <= 1.2 && r99 <= 1.2 ? "met" : "NOT met");
  std::printf("for reference, against the hello floor: provision + exec p50 %.2fx, p99 %.2fx; "
              "provision -> hello p50 %.2fx, p99 %.2fx\n",
              ratio(clone_total, raw_hello, 0.5), ratio(clone_total, raw_hello, 0.99), ratio(clone_hello, raw_hello, 0.5),
              ratio(clone_hello, raw_hello, 0.99));
  auto per = [](const memory_use& m, double memory_use::*field) { return m.vms ? m.*field / m.vms : 0.0; };
  std::printf("idle clones (%d alive at once): PSS %.1f MiB, RSS %.1f MiB per clone; target <= 40 MiB PSS under TCG: %s\n",
              clone_memory.vms, per(clone_memory, &memory_use::pss_mib), per(clone_memory, &memory_use::rss_mib),
              clone_memory.vms == 0 ? "not measured" : per(clone_memory, &memory_use::pss_mib) <= 40 ? "met" : "NOT met");
  std::printf("cold-booted VM (%d): PSS %.1f MiB, RSS %.1f MiB\n", cold_memory.vms,
              per(cold_memory, &memory_use::pss_mib), per(cold_memory, &memory_use::rss_mib));
  std::printf("template RAM (memfd, held once per shape by the control plane, in no PSS): %.1f MiB\n", memfd_mib);
  if (!mem_error.empty()) std::printf("memory: %s\n", mem_error.c_str());

  cleanup();
  bool failed = false;
  for (auto& r : table) failed = failed || r.failed;
  failed = failed || clone_memory.vms != 5 || cold_memory.vms != 1;
  return failed ? 1 : 0;
}
