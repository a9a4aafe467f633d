// The microVM adapter: each sandbox is a QEMU `-M microvm` guest with its own kernel,
// booted from the root filesystem image (read-only disk vda) and a workspace disk (vdb),
// driven through the guest agent (guest_agent.cpp) over a virtio-serial port.
//
// What a sandbox writes leaves the guest only through the agent: files as bytes read by
// the agent, copied into the host workspace by this process without following a link
// (apply_tree). The host never mounts a disk the guest wrote.
#include "adapters/sandbox/microvm/microvm_sandbox_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <map>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <optional>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/egress_network.hpp"
#include "adapters/sandbox/microvm/vm_parts.hpp"
#include "adapters/sandbox/output_redactor.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/sandbox_state.hpp"
#include "adapters/sandbox/spec_checks.hpp"
#include "adapters/sandbox/workspace_files.hpp"
#include "events/sha256.hpp"

namespace aetherium {
namespace sandbox::microvm {
namespace {

namespace fs = std::filesystem;
namespace proto = protocol;


std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (::getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size()))
    return {};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// The last `max` bytes of a log QEMU wrote. Its folder belongs to QEMU's user, so the file
/// may have been replaced: only a regular file is read, never through a link.
std::string tail_of(const std::string& path, std::size_t max = 2000) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return {};
  auto size = static_cast<std::size_t>(st.st_size);
  off_t from = static_cast<off_t>(size > max ? size - max : 0);
  std::string text(std::min(size, max), '\0');
  ssize_t n = ::pread(fd.get(), text.data(), text.size(), from);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

/// Host kHz of the TSC, for tsc_early_khz (TCG guests calibrate badly without it).
std::string host_khz() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line))
    if (line.rfind("cpu MHz", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos)
        return std::to_string(static_cast<long>(std::atof(line.c_str() + colon + 1) * 1000));
    }
  return "2000000";
}

/// One tunnelled connection from the guest (to the proxy or the gateway).
struct stream {
  unique_fd fd;
  std::atomic<int> ended{0}; ///< Directions that ended; at 2 the stream is forgotten.
};

/// One VM this process started.
struct vm {
  sandbox_meta meta;
  std::string dir;
  pid_t qemu = -1;
  std::uint32_t qemu_uid = 0;
  std::shared_ptr<agent_channel> channel;
  std::string workspace_dir;
  bool sync_back = true;     ///< limits.workspace_bytes == 0: copy the workspace out after each exec
  std::uint64_t disk_bytes = 0;
  std::uint32_t uid = 65534, gid = 65534;
  std::vector<std::string> secret_values;
  std::string proxy_target;  ///< host:port of the allow-list proxy; empty without one
  std::string gateway_socket;
  bool egress = false;

  std::mutex mu;
  bool killed = false;
  bool cancelled = false;
  bool timed_out = false;
  std::map<std::uint32_t, std::shared_ptr<stream>> streams;
};

/// A booted VM saved for cloning: RAM in a sealed memfd, device state in a file.
struct vm_template {
  unique_fd ram;
  std::string state_path;
  ~vm_template() {
    if (!state_path.empty())
      ::unlink(state_path.c_str());
  }
};

struct shape_key {
  std::string image;
  std::uint64_t ram_mib = 0;
  std::uint64_t disk_bytes = 0;
  bool operator<(const shape_key& o) const {
    return std::tie(image, ram_mib, disk_bytes) < std::tie(o.image, o.ram_mib, o.disk_bytes);
  }
};

class microvm_runtime final : public sandbox_runtime {
public:
  microvm_runtime(microvm_sandbox_options options, cgroup_layout layout)
      : options_(std::move(options)), layout_(std::move(layout)) {}

  ~microvm_runtime() override {
    {
      // The pool's refill thread uses this object: stop it and wait for it to end.
      std::unique_lock<std::mutex> lock(pool_mu_);
      stopping_ = true;
      pool_cv_.wait(lock, [this] { return !filling_; });
    }
    std::vector<std::shared_ptr<vm>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, v] : vms_)
        all.push_back(v);
    }
    for (auto& v : all)
      (void)destroy(sandbox_handle{v->meta.id, sandbox_runtime_kind::microvm});
    std::lock_guard<std::mutex> lock(pool_mu_);
    for (auto& [key, list] : pool_)
      for (auto& v : list)
        (void)teardown(*v);
  }

  result<void> start() {
    std::error_code ec;
    for (auto sub : {"", "/vms", "/images", "/templates", "/egress"})
      fs::create_directories(options_.state_dir + sub, ec);
    ::chmod(options_.state_dir.c_str(), 0711);
    // QEMU runs unprivileged: it must be able to walk down to its VM folder.
    for (fs::path p = fs::path(options_.state_dir).parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH))
        return make_error(errc::unavailable, p.string() + " is not searchable by others (chmod o+x): QEMU runs as "
                                             "an unprivileged user and must reach " + options_.state_dir, "state_dir");
    }
    ::chmod((options_.state_dir + "/vms").c_str(), 0711);
    ::chmod((options_.state_dir + "/images").c_str(), 0755);
    ::chmod((options_.state_dir + "/templates").c_str(), 0755);
    if (ec)
      return make_error(errc::unavailable, "cannot create " + options_.state_dir + ": " + ec.message());
    initramfs_ = options_.state_dir + "/images/initramfs-" +
                 sha256_hex(options_.guest_agent_binary + file_stamp(options_.guest_agent_binary) +
                            file_stamp(options_.kernel_dir + "/modules/order"))
                     .substr(0, 12) +
                 ".cpio";
    // QEMU runs unprivileged and may not reach the kernel folder (a home directory, say):
    // it boots a copy in the state directory.
    kernel_ = options_.state_dir + "/images/vmlinux-" +
              sha256_hex(options_.kernel_dir + file_stamp(options_.kernel_dir + "/vmlinux")).substr(0, 12);
    if (::access(kernel_.c_str(), R_OK) != 0) {
      std::error_code copy_ec;
      fs::copy_file(options_.kernel_dir + "/vmlinux", kernel_ + ".tmp", fs::copy_options::overwrite_existing, copy_ec);
      if (copy_ec || ::chmod((kernel_ + ".tmp").c_str(), 0644) != 0 || ::rename((kernel_ + ".tmp").c_str(), kernel_.c_str()) != 0)
        return make_error(errc::unavailable, "cannot copy the kernel into " + options_.state_dir + ": " + copy_ec.message());
    }
    if (::access(initramfs_.c_str(), R_OK) != 0)
      if (auto made = write_initramfs(options_.guest_agent_binary, options_.kernel_dir + "/modules", initramfs_); !made)
        return made.err();
    if (options_.reap_orphans_at_start) {
      // Every VM folder a previous process left: sandboxes (listed) and warm clones or VMs
      // still being provisioned (not listed: they have no sandbox record yet).
      std::error_code it_ec;
      for (auto& entry : fs::directory_iterator(options_.state_dir + "/vms", it_ec))
        (void)destroy(sandbox_handle{entry.path().filename().string(), sandbox_runtime_kind::microvm});
    }
    // Templates belong to the previous process's accel choice and binaries: start afresh.
    fs::remove_all(options_.state_dir + "/templates", ec);
    fs::create_directories(options_.state_dir + "/templates", ec);
    ::chmod((options_.state_dir + "/templates").c_str(), 0755);
    return {};
  }

  result<sandbox_handle> provision(const sandbox_spec& spec) override {
    if (spec.runtime != sandbox_runtime_kind::microvm)
      return make_error(errc::invalid_argument, "the microVM adapter runs only runtime microvm", "runtime");
    if (auto valid = validate_sandbox_spec(spec); !valid)
      return valid.err();
    if (auto ready = ensure_accel(spec); !ready)
      return ready.err();
    auto image = rootfs_image(spec.rootfs_dir);
    if (!image)
      return image.err();
    shape_key key{*image, ram_mib(spec), disk_bytes(spec)};
    std::shared_ptr<vm> box;
    if (options_.templates) {
      if (auto warm = take_warm(key))
        box = warm;
      else {
        auto cloned = clone(key);
        if (!cloned)
          return cloned.err();
        box = *cloned;
      }
      refill_later(key);
    } else {
      auto booted = boot(key, false, nullptr);
      if (!booted)
        return booted.err();
      box = *booted;
    }
    if (auto ready = personalize(*box, spec); !ready) {
      (void)teardown(*box);
      return ready.err();
    }
    std::lock_guard<std::mutex> lock(mu_);
    vms_[box->meta.id] = box;
    return sandbox_handle{box->meta.id, sandbox_runtime_kind::microvm};
  }

  result<exit_status> exec(const sandbox_handle& handle, const exec_request& request) override {
    auto box = find(handle);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    if (auto valid = validate_request(request); !valid)
      return valid.err();
    {
      std::lock_guard<std::mutex> lock(box->mu);
      if (box->killed)
        return make_error(errc::invalid_transition, "sandbox " + handle.id + " was killed");
    }
    auto& ch = *box->channel;
    std::string proxy = box->proxy_target.empty() ? "" : "http://127.0.0.1:" + std::to_string(proto::tunnel_proxy_port);
    std::string gateway = box->gateway_socket.empty() ? "" : "http://127.0.0.1:" + std::to_string(proto::tunnel_gateway_port);
    auto env = sandbox_environment(request, proxy, gateway);
    proto::writer w;
    w.str(request.cwd).u32(static_cast<std::uint32_t>(request.argv.size()));
    for (auto& a : request.argv)
      w.str(a);
    w.u32(static_cast<std::uint32_t>(env.size()));
    for (auto& e : env)
      w.str(e);
    w.u32(request.stdin_data.empty() ? 0 : 1);
    auto id = ch.next_id();
    ch.expect(id);
    if (!ch.send(proto::type::exec, id, w.take())) {
      ch.forget(id);
      return stopped(*box);
    }
    for (std::size_t at = 0; at < request.stdin_data.size(); at += 1u << 20)
      ch.send(proto::type::stdin_data, id, proto::writer{}.str(std::string_view(request.stdin_data).substr(at, 1u << 20)).take());
    if (!request.stdin_data.empty())
      ch.send(proto::type::stdin_close, id, {});
    output_redactor redactor(box->secret_values, request.on_output ? request.on_output : [](output_stream, std::string_view) {});
    exit_status status;
    for (;;) {
      proto::frame f;
      auto got = ch.next(id, f, request.deadline);
      if (got == agent_channel::wait::timeout) {
        {
          std::lock_guard<std::mutex> lock(box->mu);
          box->timed_out = true;
        }
        kill_vm(*box);
        ch.forget(id);
        redactor.flush();
        status.exit_code = 128 + SIGKILL;
        status.signal = SIGKILL;
        status.timed_out = true;
        return status;
      }
      if (got == agent_channel::wait::closed) {
        ch.forget(id);
        redactor.flush();
        std::lock_guard<std::mutex> lock(box->mu);
        if (box->cancelled || box->killed) {
          status.exit_code = 128 + SIGKILL;
          status.signal = SIGKILL;
          status.cancelled = box->cancelled;
          status.timed_out = box->timed_out;
          return status;
        }
        return stopped_locked(*box);
      }
      proto::reader r{f.body};
      if (f.kind == proto::type::output) {
        std::uint32_t which = 0;
        std::string bytes;
        if (r.u32(which) && r.str(bytes))
          redactor.write(which == 2 ? output_stream::err : output_stream::out, bytes);
        continue;
      }
      if (f.kind == proto::type::error) {
        ch.forget(id);
        return guest_error(r);
      }
      if (f.kind != proto::type::exited)
        continue;
      std::uint32_t not_executed = 0, oom = 0;
      r.i32(status.exit_code);
      r.i32(status.signal);
      r.u32(not_executed);
      r.u32(oom);
      status.not_executed = not_executed != 0;
      status.oom_killed = oom != 0;
      break;
    }
    ch.forget(id);
    redactor.flush();
    if (box->sync_back)
      if (auto synced = sync_workspace(*box); !synced)
        return synced.err();
    return status;
  }

  result<void> copy_in(const sandbox_handle& handle, const std::string& path, std::string_view bytes,
                       std::uint32_t mode) override {
    std::shared_ptr<vm> box;
    auto rel = file_request(handle, path, box);
    if (!rel)
      return rel.err();
    proto::frame reply;
    auto got = box->channel->call(proto::type::put_file,
                                  proto::writer{}.str(path).u32(mode & 0777).str(bytes).take(), reply, deadline());
    if (got != agent_channel::wait::frame)
      return stopped(*box);
    if (reply.kind == proto::type::error) {
      proto::reader r{reply.body};
      return guest_error(r, "path");
    }
    if (box->sync_back) // the host's workspace is the sandbox's: keep them alike
      return write_beneath(box->workspace_dir, *rel, bytes, mode & 0777, box->uid, box->gid);
    return {};
  }

  result<std::string> copy_out(const sandbox_handle& handle, const std::string& path, std::uint64_t max_bytes) override {
    std::shared_ptr<vm> box;
    auto rel = file_request(handle, path, box);
    if (!rel)
      return rel.err();
    proto::frame reply;
    auto got = box->channel->call(proto::type::get_file, proto::writer{}.str(path).u64(max_bytes).take(), reply, deadline());
    if (got != agent_channel::wait::frame)
      return stopped(*box);
    proto::reader r{reply.body};
    if (reply.kind == proto::type::error)
      return guest_error(r, "path");
    std::string bytes;
    if (reply.kind != proto::type::data || !r.str(bytes) || bytes.size() > max_bytes)
      return make_error(errc::unavailable, "the guest agent answered copy_out wrongly");
    return bytes;
  }

  result<void> signal(const sandbox_handle& handle, int sig) override {
    auto box = find(handle);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    if (sig <= 0 || sig >= 65)
      return make_error(errc::invalid_argument, "bad signal", "signal");
    if (sig == SIGKILL) {
      kill_vm(*box);
      return {};
    }
    proto::frame reply;
    if (box->channel->call(proto::type::signal, proto::writer{}.i32(sig).take(), reply, deadline()) !=
        agent_channel::wait::frame)
      return stopped(*box);
    return {};
  }

  result<void> cancel(const sandbox_handle& handle) override {
    auto box = find(handle);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    {
      std::lock_guard<std::mutex> lock(box->mu);
      if (!box->killed)
        box->cancelled = true;
    }
    kill_vm(*box);
    return {};
  }

  result<void> destroy(const sandbox_handle& handle) override {
    if (!valid_sandbox_id(handle.id))
      return {};
    std::shared_ptr<vm> box;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = vms_.find(handle.id);
      if (it != vms_.end()) {
        box = it->second;
        vms_.erase(it);
      }
    }
    if (box)
      return teardown(*box);
    // From list() after a restart: what the previous process left.
    std::string dir = options_.state_dir + "/vms/" + handle.id;
    if (!fs::exists(dir))
      return {};
    vm orphan;
    orphan.dir = dir;
    orphan.meta.id = handle.id;
    if (auto meta = read_meta(dir))
      orphan.meta = *meta;
    orphan.meta.cgroup_path = "/" + options_.cgroup_parent + "/" + handle.id;
    orphan.egress = true; // teardown_egress is safe when there was none
    return teardown(orphan);
  }

  result<sandbox_stats> stats(const sandbox_handle& handle) override {
    auto box = find(handle);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    proto::frame reply;
    sandbox_stats out;
    if (box->channel->call(proto::type::stats, {}, reply, deadline()) != agent_channel::wait::frame)
      return out; // a killed VM uses nothing any more
    proto::reader r{reply.body};
    r.u64(out.memory_bytes);
    r.u64(out.cpu_ns);
    r.u32(out.pids);
    r.u64(out.oom_kills);
    return out;
  }

  result<std::vector<sandbox_info>> list() override {
    std::vector<sandbox_info> found;
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(options_.state_dir + "/vms", ec)) {
      auto id = entry.path().filename().string();
      if (!valid_sandbox_id(id))
        continue;
      sandbox_info info;
      info.handle = {id, sandbox_runtime_kind::microvm};
      if (auto meta = read_meta(entry.path().string()))
        info.labels = meta->labels;
      else
        continue; // a warm clone or a VM being provisioned: not handed out yet
      std::ifstream pidfile(entry.path().string() + "/qemu.pid");
      long pid = 0;
      info.running = (pidfile >> pid) && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
      found.push_back(std::move(info));
    }
    if (ec)
      return make_error(errc::unavailable, "list " + options_.state_dir + ": " + ec.message());
    return found;
  }

  result<std::size_t> live_count() override {
    std::lock_guard<std::mutex> lock(mu_);
    return vms_.size();
  }

private:
  clock::time_point deadline() const { return clock::now() + options_.command_timeout; }

  static std::string file_stamp(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return "-";
    return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec);
  }

  std::uint64_t ram_mib(const sandbox_spec& spec) const {
    auto bytes = (spec.limits.memory_bytes ? spec.limits.memory_bytes : sandbox_limits{}.memory_bytes) +
                 options_.guest_overhead_bytes;
    return (bytes + (1u << 20) - 1) >> 20;
  }
  std::uint64_t disk_bytes(const sandbox_spec& spec) const {
    auto bytes = spec.limits.workspace_bytes ? spec.limits.workspace_bytes : options_.default_workspace_bytes;
    return std::max<std::uint64_t>(bytes, 16ull << 20) / 4096 * 4096;
  }

  /// The VM of `handle` (into `box`) and `path` relative to /workspace, for copy_in/out.
  result<std::string> file_request(const sandbox_handle& handle, const std::string& path, std::shared_ptr<vm>& box) {
    box = find(handle);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    return workspace_relative(path);
  }

  std::shared_ptr<vm> find(const sandbox_handle& handle) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = vms_.find(handle.id);
    return it == vms_.end() ? nullptr : it->second;
  }

  error stopped(vm& box) {
    std::lock_guard<std::mutex> lock(box.mu);
    if (box.killed)
      return make_error(errc::invalid_transition, "sandbox " + box.meta.id + " was killed");
    return stopped_locked(box);
  }
  error stopped_locked(vm& box) {
    box.killed = true;
    return make_error(errc::unavailable, "the microVM " + box.meta.id +
                                             " stopped (QEMU or the guest agent died): " + tail_of(box.dir + "/qemu.log", 600) +
                                             tail_of(box.dir + "/console.log", 600));
  }

  static error guest_error(proto::reader& r, const std::string& field = {}) {
    std::uint32_t code = 0;
    std::string detail;
    r.u32(code);
    r.str(detail);
    switch (static_cast<proto::error_code>(code)) {
      case proto::error_code::invalid_argument:
      case proto::error_code::too_large: return error{errc::invalid_argument, detail, field};
      case proto::error_code::not_found: return error{errc::not_found, detail, field};
      default: return error{errc::unavailable, "guest agent: " + detail, field};
    }
  }

  // -- accel and images ------------------------------------------------------------------

  /// Decides KVM or TCG once: KVM only when a VM really boots under it.
  result<void> ensure_accel(const sandbox_spec& spec) {
    std::lock_guard<std::mutex> lock(accel_mu_);
    if (!accel_.empty())
      return {};
    if (options_.accel != "auto") {
      accel_ = options_.accel;
      return {};
    }
    accel_ = "tcg";
    if (::access("/dev/kvm", R_OK | W_OK) != 0)
      return {};
    auto image = rootfs_image(spec.rootfs_dir);
    if (!image)
      return image.err();
    accel_ = "kvm";
    auto saved = options_.command_timeout;
    options_.command_timeout = std::chrono::milliseconds(15000);
    auto probe = boot(shape_key{*image, 256, 16ull << 20}, false, nullptr);
    options_.command_timeout = saved;
    if (probe)
      (void)teardown(**probe);
    else
      accel_ = "tcg";
    return {};
  }

  /// The root filesystem as a read-only ext4 image, made once per directory and change.
  result<std::string> rootfs_image(const std::string& rootfs_dir) {
    std::string stamp = rootfs_dir + "|" + file_stamp(rootfs_dir) + "|" + file_stamp(rootfs_dir + "/.aetherium-image");
    std::string path = options_.state_dir + "/images/rootfs-" + sha256_hex(stamp).substr(0, 16) + ".ext4";
    std::lock_guard<std::mutex> lock(image_mu_);
    if (::access(path.c_str(), R_OK) == 0)
      return path;
    std::uint64_t bytes = tree_bytes(rootfs_dir);
    std::uint64_t size = (bytes + bytes / 5 + (64ull << 20)) / 4096 * 4096;
    std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    auto made = mkfs(rootfs_dir, tmp, size, "0:0");
    if (!made)
      return made.err();
    ::chmod(tmp.c_str(), 0644);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      return make_error(errc::unavailable, "rename " + tmp + ": " + std::strerror(errno));
    return path;
  }

  result<void> mkfs(const std::string& from_dir, const std::string& image, std::uint64_t size,
                    const std::string& root_owner) {
    process_request req;
    req.argv = {options_.mkfs_binary, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0", "-E",
                "root_owner=" + root_owner + ",nodiscard", "-d", from_dir, image, std::to_string(size / 1024) + "k"};
    req.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    req.deadline = clock::now() + std::chrono::minutes(10);
    auto ran = run_captured(req);
    if (!ran)
      return ran.err();
    if (ran->outcome.exit_code != 0)
      return make_error(errc::unavailable, "mkfs.ext4 -d " + from_dir + " failed: " + ran->err);
    return {};
  }

  // -- starting VMs ------------------------------------------------------------------------

  std::uint32_t take_uid_slot() {
    std::lock_guard<std::mutex> lock(slot_mu_);
    std::uint32_t slot = 1;
    while (slots_.count(slot))
      ++slot;
    slots_.insert(slot);
    return options_.qemu_uid_base + slot;
  }
  void give_uid_slot(std::uint32_t uid) {
    std::lock_guard<std::mutex> lock(slot_mu_);
    slots_.erase(uid - options_.qemu_uid_base);
  }

  qemu_shape shape_of(const shape_key& key) const {
    return qemu_shape{options_.qemu_binary, accel_, kernel_, initramfs_, key.image, key.ram_mib, host_khz_};
  }

  result<std::string> make_cgroup(const std::string& id, std::uint64_t ram_mib, std::vector<std::string>& procs) {
    std::string path = "/" + options_.cgroup_parent + "/" + id;
    auto dirs = layout_.directories(path);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::error_code ec;
      fs::create_directories(*it, ec);
      if (ec)
        return make_error(errc::unavailable, "cgroup " + *it + ": " + ec.message());
    }
    std::uint64_t limit = (ram_mib << 20) + options_.qemu_overhead_bytes;
    std::string mem = layout_.controller_dir("memory", path);
    std::string pids = layout_.controller_dir("pids", path);
    auto put = [](const std::string& file, const std::string& value) {
      std::ofstream out(file);
      out << value;
      return static_cast<bool>(out.flush());
    };
    bool v2 = layout_.mode() == cgroup_mode::v2;
    if (!put(mem + (v2 ? "/memory.max" : "/memory.limit_in_bytes"), std::to_string(limit)) ||
        !put(pids + "/pids.max", "256"))
      return make_error(errc::unavailable, "cannot limit the control group of " + id);
    (void)put(mem + (v2 ? "/memory.swap.max" : "/memory.memsw.limit_in_bytes"), v2 ? "0" : std::to_string(limit));
    // QEMU joins the memory and pids groups (and the unified one of a hybrid host); other
    // v1 hierarchies (cpuset needs its own settings) are left alone.
    std::set<std::string> join{mem, pids};
    for (auto& d : dirs)
      if (v2 || d.find("/unified/") != std::string::npos)
        join.insert(d);
    for (auto& d : join)
      procs.push_back(d + "/cgroup.procs");
    return path;
  }

  /// Starts one QEMU for `key` and waits for its guest agent: a cold boot, a template's boot
  /// (`tpl` set, `as_template`: guest RAM in the template's memfd, shared), or a clone of
  /// a template (`tpl` set: that RAM mapped copy-on-write, device state from its file).
  result<std::shared_ptr<vm>> boot(const shape_key& key, bool as_template, const std::shared_ptr<vm_template>& tpl) {
    auto box = std::make_shared<vm>();
    box->meta.id = new_sandbox_id();
    box->meta.runtime = sandbox_runtime_kind::microvm;
    box->dir = options_.state_dir + "/vms/" + box->meta.id;
    box->disk_bytes = key.disk_bytes;
    box->qemu_uid = take_uid_slot();
    auto fail = [&](error e) -> result<std::shared_ptr<vm>> {
      (void)teardown(*box);
      return e;
    };
    if (::mkdir(box->dir.c_str(), 0700) != 0)
      return fail(make_error(errc::unavailable, "mkdir " + box->dir + ": " + std::strerror(errno)));
    if (::chown(box->dir.c_str(), box->qemu_uid, box->qemu_uid) != 0)
      return fail(make_error(errc::unavailable, "chown " + box->dir + ": " + std::strerror(errno)));
    std::string disk = box->dir + "/workspace.img";
    {
      unique_fd f{::open(disk.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
      if (!f.valid() || ::ftruncate(f.get(), static_cast<off_t>(key.disk_bytes)) != 0 ||
          ::fchown(f.get(), box->qemu_uid, box->qemu_uid) != 0)
        return fail(make_error(errc::unavailable, "cannot make " + disk + ": " + std::strerror(errno)));
    }
    std::vector<std::string> procs;
    auto cg = make_cgroup(box->meta.id, key.ram_mib, procs);
    if (!cg)
      return fail(cg.err());
    box->meta.cgroup_path = *cg;
    // Guest RAM of templates and clones is the template's memfd, passed as descriptor 3.
    // A clone maps it privately: the memfd is sealed against writes, so no clone (and no
    // QEMU a guest took over) can change what the next clone starts from.
    unique_fd state;
    std::vector<int> fds;
    if (tpl) {
      fds.push_back(tpl->ram.get());
      if (!as_template) {
        state.reset(::open(tpl->state_path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!state.valid())
          return fail(make_error(errc::unavailable, "template state missing: " + tpl->state_path));
        fds.push_back(state.get());
      }
    }
    launch how;
    how.argv = qemu_command(shape_of(key), box->dir, tpl != nullptr, as_template, state.valid());
    how.dir = box->dir;
    how.uid = how.gid = box->qemu_uid;
    if (accel_ == "kvm")
      if (group* kvm = ::getgrnam("kvm"))
        how.groups.push_back(kvm->gr_gid);
    how.cgroup_procs = procs;
    how.pass_fds = fds;
    auto pid = start_qemu(how);
    if (!pid)
      return fail(pid.err());
    box->qemu = *pid;
    {
      std::ofstream pidfile(box->dir + "/qemu.pid");
      pidfile << *pid;
    }
    auto until = deadline();
    pid_t qemu = *pid;
    auto fd = connect_unix(box->dir + "/agent.sock", until, [qemu] {
      siginfo_t info{};
      return ::waitid(P_PID, static_cast<id_t>(qemu), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
    });
    if (!fd)
      return fail(make_error(errc::unavailable, "QEMU did not start: " + fd.err().detail + " " +
                                                    tail_of(box->dir + "/qemu.log")));
    if (state.valid()) {
      // The saved state leaves out guest RAM (x-ignore-shared): the clone maps the template's.
      auto qmp = qmp_client::connect(box->dir + "/qmp.sock", until);
      if (!qmp)
        return fail(make_error(errc::unavailable, "QEMU did not start: " + qmp.err().detail + " " +
                                                      tail_of(box->dir + "/qemu.log")));
      for (auto cmd : {R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})",
                       R"({"execute":"migrate-incoming","arguments":{"uri":"fd:4"}})"})
        if (auto done = qmp->execute(cmd, until); !done)
          return fail(make_error(errc::unavailable, "cloning the template: " + done.err().detail));
      if (auto done = wait_migration(*qmp, until); !done)
        return fail(done.err());
      if (auto done = qmp->execute(R"({"execute":"cont"})", until); !done) // the template was paused when saved
        return fail(make_error(errc::unavailable, "starting the clone: " + done.err().detail));
    }
    std::weak_ptr<vm> weak = box;
    box->channel = std::make_shared<agent_channel>(std::move(*fd), [this, weak](const proto::frame& f) {
      if (auto b = weak.lock())
        on_stream(b, f);
    });
    proto::frame reply;
    auto got = box->channel->call(proto::type::hello, proto::writer{}.u32(proto::version).take(), reply, until);
    std::uint32_t version = 0;
    proto::reader r{reply.body};
    if (got != agent_channel::wait::frame || reply.kind != proto::type::hello || !r.u32(version))
      return fail(make_error(errc::unavailable, "the guest agent did not answer (" + accel_ + "): " +
                                                    tail_of(box->dir + "/qemu.log") + tail_of(box->dir + "/console.log")));
    if (version != proto::version)
      return fail(make_error(errc::unavailable, "guest agent version " + std::to_string(version) + ", host speaks " +
                                                    std::to_string(proto::version)));
    return box;
  }

  /// Waits until the migration QEMU runs (either way) has completed.
  static result<void> wait_migration(qmp_client& qmp, clock::time_point until) {
    for (;;) {
      auto info = qmp.execute(R"({"execute":"query-migrate"})", until);
      if (!info)
        return info.err();
      auto doc = nlohmann::json::parse(*info, nullptr, false);
      auto status = doc.is_object() ? doc.value("status", "") : "";
      if (status == "completed")
        return {};
      if (status == "failed" || status == "cancelled")
        return make_error(errc::unavailable, "migration " + status + ": " + *info);
      if (clock::now() > until)
        return make_error(errc::unavailable, "migration took too long");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  /// A new clone of the template of `key` (made first if there is none yet).
  result<std::shared_ptr<vm>> clone(const shape_key& key) {
    auto tpl = ensure_template(key);
    if (!tpl)
      return tpl.err();
    return boot(key, false, *tpl);
  }

  /// Boots the template of `key` once: its RAM stays in a memfd this process holds (sealed
  /// once the template stopped), its device state in a file.
  result<std::shared_ptr<vm_template>> ensure_template(const shape_key& key) {
    std::shared_ptr<std::mutex> guard;
    {
      std::lock_guard<std::mutex> lock(template_mu_);
      auto& m = template_locks_[key];
      if (!m)
        m = std::make_shared<std::mutex>();
      guard = m;
      auto it = templates_.find(key);
      if (it != templates_.end())
        return it->second;
    }
    std::lock_guard<std::mutex> lock(*guard);
    {
      std::lock_guard<std::mutex> lock2(template_mu_);
      auto it = templates_.find(key);
      if (it != templates_.end())
        return it->second;
    }
    auto tpl = std::make_shared<vm_template>();
    tpl->state_path = options_.state_dir + "/templates/" + random_hex(8) + ".state";
    tpl->ram.reset(::memfd_create("aetherium-template", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!tpl->ram.valid() || ::ftruncate(tpl->ram.get(), static_cast<off_t>(key.ram_mib << 20)) != 0)
      return make_error(errc::unavailable, std::string("memfd for a template: ") + std::strerror(errno));
    auto box = boot(key, true, tpl);
    if (!box)
      return box.err();
    auto until = deadline();
    auto saved = [&]() -> ::aetherium::result<void> {
      auto qmp = qmp_client::connect((*box)->dir + "/qmp.sock", until);
      if (!qmp)
        return qmp.err();
      unique_fd out{::open(tpl->state_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
      if (!out.valid())
        return make_error(errc::unavailable, "cannot write the template state");
      for (auto cmd : {R"({"execute":"stop"})",
                       R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})"})
        if (auto done = qmp->execute(cmd, until); !done)
          return done.err();
      if (auto done = qmp->execute(R"({"execute":"getfd","arguments":{"fdname":"state"}})", until, out.get()); !done)
        return done.err();
      if (auto done = qmp->execute(R"({"execute":"migrate","arguments":{"uri":"fd:state"}})", until); !done)
        return done.err();
      return wait_migration(*qmp, until);
    }();
    (void)teardown(**box);
    if (!saved) {
      ::unlink(tpl->state_path.c_str());
      return saved.err();
    }
    if (::fcntl(tpl->ram.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
      return make_error(errc::unavailable, std::string("sealing the template's RAM: ") + std::strerror(errno));
    std::lock_guard<std::mutex> lock2(template_mu_);
    templates_[key] = tpl;
    return tpl;
  }

  /// Makes a started VM the spec's: its workspace on the disk, user, limits, secrets.
  result<void> personalize(vm& box, const sandbox_spec& spec) {
    box.workspace_dir = spec.workspace_dir;
    box.sync_back = spec.limits.workspace_bytes == 0;
    box.uid = spec.uid;
    box.gid = spec.gid;
    box.gateway_socket = spec.gateway_socket;
    for (auto& [name, value] : spec.secrets)
      box.secret_values.push_back(value);
    box.meta.labels = spec.labels;
    box.meta.uid = spec.uid;
    box.meta.gid = spec.gid;
    box.meta.workspace_root = spec.workspace_dir;
    box.meta.gateway_socket = spec.gateway_socket;
    box.meta.created_unix = static_cast<std::int64_t>(::time(nullptr));
    // The disk is written in place: QEMU holds it open, and the guest has not mounted it.
    std::string disk = box.dir + "/workspace.img";
    if (auto made = mkfs(spec.workspace_dir, disk, box.disk_bytes, std::to_string(spec.uid) + ":" + std::to_string(spec.gid));
        !made)
      return made.err();
    if (spec.network.kind == network_policy::mode::allow_list) {
      box.egress = true;
      box.meta.egress_proxy = true;
      egress_tools tools{options_.ip_binary, options_.egress_proxy_binary, options_.nft_binary,
                         options_.proxy_hosts_file, options_.egress_allow_private};
      auto net = setup_egress(tools, box.meta.id, options_.state_dir + "/egress", spec.network.allowed_hosts);
      if (!net)
        return net.err();
      box.meta.proxy_url = net->proxy_url;
      auto rest = net->proxy_url.substr(net->proxy_url.find("://") + 3);
      box.proxy_target = rest;
    }
    if (auto written = write_meta(box.dir, box.meta); !written)
      return written.err();
    std::string seed(32, '\0');
    if (::getrandom(seed.data(), seed.size(), 0) != 32)
      return make_error(errc::unavailable, "getrandom failed");
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
    proto::writer w;
    w.u64(static_cast<std::uint64_t>(now.count()))
        .str(seed)
        .u32(spec.uid)
        .u32(spec.gid)
        .u64(spec.limits.tmp_bytes ? spec.limits.tmp_bytes : sandbox_limits{}.tmp_bytes)
        .u64(spec.limits.memory_bytes ? spec.limits.memory_bytes : sandbox_limits{}.memory_bytes)
        .u32(spec.limits.pids ? spec.limits.pids : sandbox_limits{}.pids)
        .u32(static_cast<std::uint32_t>(spec.secrets.size()));
    for (auto& [name, value] : spec.secrets)
      w.str(name).str(value);
    w.u32((box.proxy_target.empty() ? 0u : 1u) | (box.gateway_socket.empty() ? 0u : 2u));
    proto::frame reply;
    auto got = box.channel->call(proto::type::setup, w.take(), reply, deadline());
    if (got != agent_channel::wait::frame)
      return make_error(errc::unavailable, "the guest agent did not finish setup: " + tail_of(box.dir + "/console.log"));
    if (reply.kind == proto::type::error) {
      proto::reader r{reply.body};
      return guest_error(r);
    }
    return {};
  }

  // -- warm pool ---------------------------------------------------------------------------

  std::shared_ptr<vm> take_warm(const shape_key& key) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    auto it = pool_.find(key);
    if (it == pool_.end() || it->second.empty())
      return nullptr;
    auto box = it->second.front();
    it->second.erase(it->second.begin());
    return box;
  }

  void refill_later(const shape_key& key) {
    if (options_.warm_pool_size == 0)
      return;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      auto pos = std::find(shapes_.begin(), shapes_.end(), key);
      if (pos != shapes_.end())
        shapes_.erase(pos);
      shapes_.insert(shapes_.begin(), key);
      while (shapes_.size() > options_.warm_pool_shapes) {
        for (auto& old : pool_[shapes_.back()])
          (void)teardown(*old);
        pool_.erase(shapes_.back());
        shapes_.pop_back();
      }
      if (filling_)
        return;
      filling_ = true;
    }
    std::thread([this] {
      for (;;) {
        shape_key need;
        {
          std::lock_guard<std::mutex> lock(pool_mu_);
          auto short_one = std::find_if(shapes_.begin(), shapes_.end(), [this](const shape_key& k) {
            return pool_[k].size() < options_.warm_pool_size;
          });
          if (short_one == shapes_.end() || stopping_) {
            filling_ = false;
            pool_cv_.notify_all();
            return;
          }
          need = *short_one;
        }
        auto made = clone(need);
        std::lock_guard<std::mutex> lock(pool_mu_);
        if (!made || stopping_) {
          if (made)
            (void)teardown(**made);
          filling_ = false;
          pool_cv_.notify_all();
          return;
        }
        pool_[need].push_back(*made);
      }
    }).detach();
  }

  // -- tunnelled connections ---------------------------------------------------------------

  /// A frame about a connection the guest tunnels: opens it to the proxy or the gateway
  /// (stream_open), passes bytes on, or half-closes it. Runs on the channel's reader.
  void on_stream(const std::shared_ptr<vm>& owner, const proto::frame& f) {
    vm& box = *owner;
    auto channel = box.channel;
    if (!channel || f.id < proto::first_stream_id)
      return;
    std::shared_ptr<stream> s;
    {
      std::lock_guard<std::mutex> lock(box.mu);
      auto it = box.streams.find(f.id);
      if (it != box.streams.end())
        s = it->second;
    }
    proto::reader r{f.body};
    if (f.kind == proto::type::stream_open) {
      std::uint32_t port = 0;
      unique_fd fd;
      if (s || !r.u32(port)) {
        // a repeated or bad open: refused below
      } else if (port == proto::tunnel_gateway_port && !box.gateway_socket.empty()) {
        if (auto c = connect_unix(box.gateway_socket, clock::now()))
          fd = std::move(*c);
      } else if (port == proto::tunnel_proxy_port && !box.proxy_target.empty()) {
        fd = connect_tcp(box.proxy_target);
      }
      if (!fd.valid()) {
        channel->send(proto::type::stream_close, f.id, {});
        return;
      }
      auto opened = std::make_shared<stream>();
      opened->fd = std::move(fd);
      {
        std::lock_guard<std::mutex> lock(box.mu);
        if (box.killed)
          return;
        box.streams[f.id] = opened;
      }
      // Bytes from the proxy or gateway back to the guest, until either side ends.
      std::weak_ptr<vm> weak = owner;
      std::thread([channel, opened, weak, id = f.id] {
        char buf[65536];
        for (;;) {
          ssize_t n = ::read(opened->fd.get(), buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || !channel->send(proto::type::stream_data, id, proto::writer{}.str({buf, static_cast<std::size_t>(n)}).take()))
            break;
        }
        channel->send(proto::type::stream_close, id, {});
        if (++opened->ended == 2)
          if (auto b = weak.lock())
            forget_stream(*b, id);
      }).detach();
      return;
    }
    if (!s)
      return;
    if (f.kind == proto::type::stream_data) {
      std::string bytes;
      if (r.str(bytes)) {
        std::size_t done = 0;
        while (done < bytes.size()) {
          ssize_t n = ::send(s->fd.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          done += static_cast<std::size_t>(n);
        }
      }
    } else if (f.kind == proto::type::stream_close) {
      ::shutdown(s->fd.get(), SHUT_WR);
      if (++s->ended == 2)
        forget_stream(box, f.id);
    }
  }

  static void forget_stream(vm& box, std::uint32_t id) {
    std::lock_guard<std::mutex> lock(box.mu);
    box.streams.erase(id);
  }

  static unique_fd connect_tcp(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos)
      return {};
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host_port.substr(0, colon).c_str(), host_port.substr(colon + 1).c_str(), &hints, &found) != 0)
      return {};
    unique_fd fd{::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!fd.valid() || ::connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
      fd.reset();
    ::freeaddrinfo(found);
    return fd;
  }

  // -- the workspace -----------------------------------------------------------------------

  /// Replaces the host workspace's contents with what the guest's /workspace holds now.
  result<void> sync_workspace(vm& box) {
    auto& ch = *box.channel;
    auto id = ch.next_id();
    ch.expect(id);
    if (!ch.send(proto::type::tree, id, {})) {
      ch.forget(id);
      return make_error(errc::unavailable, "the microVM stopped before its workspace was copied out");
    }
    // Nothing to do when the guest's disk was not written since the host last got it.
    proto::frame first;
    if (ch.next(id, first, deadline()) != agent_channel::wait::frame) {
      ch.forget(id);
      return make_error(errc::unavailable, "the microVM stopped while its workspace was copied out");
    }
    if (first.kind == proto::type::tree_unchanged) {
      ch.forget(id);
      return {};
    }
    // The host workspace may be a mount point (a size-bounded tmpfs): it is emptied and
    // refilled in place. Nothing in it is followed: links found there are removed as links.
    unique_fd root{::open(box.workspace_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (!root.valid()) {
      ch.forget(id);
      return make_error(errc::unavailable, "cannot open the workspace " + box.workspace_dir);
    }
    {
      std::error_code ec;
      for (auto& entry : fs::directory_iterator(box.workspace_dir, ec))
        fs::remove_all(entry.path(), ec);
      if (ec) {
        ch.forget(id);
        return make_error(errc::unavailable, "cannot empty the workspace: " + ec.message());
      }
    }
    workspace_writer writer(root.get(), box.uid, box.gid, box.disk_bytes);
    std::optional<error> failure;
    for (bool have = true;; have = false) {
      proto::frame f;
      if (have)
        f = std::move(first);
      else if (ch.next(id, f, deadline()) != agent_channel::wait::frame) {
        failure = make_error(errc::unavailable, "the microVM stopped while its workspace was copied out");
        break;
      }
      proto::reader r{f.body};
      if (f.kind == proto::type::error) {
        failure = guest_error(r);
        break;
      }
      if (f.kind == proto::type::tree_end)
        break;
      if (f.kind != proto::type::entry)
        continue;
      std::uint32_t kind = 0, mode = 0;
      std::string rel, bytes;
      if (!r.u32(kind) || !r.str(rel) || !r.u32(mode) || !r.str(bytes)) {
        failure = make_error(errc::invalid_argument, "the guest sent a malformed workspace entry");
        break;
      }
      if (auto added = writer.add(kind, rel, mode, bytes); !added) {
        failure = added.err();
        break;
      }
    }
    ch.forget(id);
    if (failure) {
      kill_vm(box); // the host's copy is partial: no later command may build on it
      return *failure;
    }
    return {};
  }

  // -- ending VMs --------------------------------------------------------------------------

  void kill_vm(vm& box) {
    {
      std::lock_guard<std::mutex> lock(box.mu);
      box.killed = true;
    }
    if (box.qemu > 0)
      ::kill(box.qemu, SIGKILL);
    if (box.channel)
      box.channel->close();
  }

  result<void> teardown(vm& box) {
    kill_vm(box);
    if (box.qemu > 0) {
      int status = 0;
      while (::waitpid(box.qemu, &status, 0) < 0 && errno == EINTR) {
      }
      box.qemu = -1;
    }
    box.channel.reset();
    {
      std::lock_guard<std::mutex> lock(box.mu);
      for (auto& [id, s] : box.streams)
        if (s->fd.valid())
          ::shutdown(s->fd.get(), SHUT_RDWR); // ends each stream's pump thread
      box.streams.clear();
    }
    if (!box.meta.cgroup_path.empty())
      if (auto removed = remove_cgroup(layout_, box.meta.cgroup_path, clock::now() + std::chrono::seconds(10)); !removed)
        return removed.err();
    if (box.egress) {
      egress_tools tools{options_.ip_binary, options_.egress_proxy_binary, options_.nft_binary,
                         options_.proxy_hosts_file, options_.egress_allow_private};
      if (auto down = teardown_egress(tools, box.meta.id, options_.state_dir + "/egress"); !down)
        return down.err();
    }
    std::error_code ec;
    if (!box.dir.empty())
      fs::remove_all(box.dir, ec);
    if (ec)
      return make_error(errc::unavailable, "cannot remove " + box.dir + ": " + ec.message());
    if (box.qemu_uid)
      give_uid_slot(box.qemu_uid);
    box.qemu_uid = 0;
    return {};
  }

  microvm_sandbox_options options_;
  cgroup_layout layout_;
  std::string initramfs_;
  std::string kernel_;
  std::string host_khz_ = host_khz();
  std::mutex accel_mu_, image_mu_, slot_mu_, template_mu_;
  std::string accel_;
  std::set<std::uint32_t> slots_;
  std::map<shape_key, std::shared_ptr<std::mutex>> template_locks_;
  std::map<shape_key, std::shared_ptr<vm_template>> templates_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<vm>> vms_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::map<shape_key, std::vector<std::shared_ptr<vm>>> pool_;
  std::vector<shape_key> shapes_;
  bool filling_ = false;
  bool stopping_ = false;
};

bool operator==(const shape_key& a, const shape_key& b) {
  return a.image == b.image && a.ram_mib == b.ram_mib && a.disk_bytes == b.disk_bytes;
}

} // namespace
} // namespace sandbox::microvm

result<std::unique_ptr<sandbox_runtime>> make_microvm_sandbox_runtime(microvm_sandbox_options options) {
  using namespace sandbox;
  if (options.state_dir.empty() || options.state_dir[0] != '/')
    return make_error(errc::invalid_argument, "state_dir must be absolute", "state_dir");
  if (options.accel != "auto" && options.accel != "kvm" && options.accel != "tcg")
    return make_error(errc::invalid_argument, "accel must be auto, kvm or tcg", "accel");
  if (options.kernel_dir.empty())
    if (const char* env = std::getenv("AETHERIUM_MICROVM_KERNEL"))
      options.kernel_dir = env;
  if (options.kernel_dir.empty() || ::access((options.kernel_dir + "/vmlinux").c_str(), R_OK) != 0 ||
      ::access((options.kernel_dir + "/modules/order").c_str(), R_OK) != 0)
    return make_error(errc::unavailable, "no microVM kernel at '" + options.kernel_dir +
                                             "' (make one with deploy/images/build-microvm-kernel.sh and pass its folder)");
  options.guest_agent_binary =
      find_helper_binary(options.guest_agent_binary, "AETHERIUM_GUEST_AGENT", "aetherium-guest-agent");
  if (options.guest_agent_binary.empty())
    return make_error(errc::unavailable, "aetherium-guest-agent not found");
  options.qemu_binary = find_in_path(options.qemu_binary.empty() ? "qemu-system-x86_64" : options.qemu_binary);
  if (options.qemu_binary.empty())
    return make_error(errc::unavailable, "qemu-system-x86_64 not found (apt-get install -y qemu-system-x86)");
  options.mkfs_binary = find_in_path(options.mkfs_binary.empty() ? "mkfs.ext4" : options.mkfs_binary);
  if (options.mkfs_binary.empty())
    return make_error(errc::unavailable, "mkfs.ext4 not found (apt-get install -y e2fsprogs)");
  options.egress_proxy_binary =
      find_helper_binary(options.egress_proxy_binary, "AETHERIUM_EGRESS_PROXY", "aetherium-egress-proxy");
  options.ip_binary = find_in_path(options.ip_binary.empty() ? "ip" : options.ip_binary);
  options.nft_binary = find_in_path(options.nft_binary.empty() ? "nft" : options.nft_binary);
  auto layout = cgroup_layout::detect(options.cgroup_root);
  if (!layout)
    return layout.err();
  auto rt = std::make_unique<microvm::microvm_runtime>(std::move(options), std::move(*layout));
  if (auto started = rt->start(); !started)
    return started.err();
  return std::unique_ptr<sandbox_runtime>(std::move(rt));
}

} // namespace aetherium
