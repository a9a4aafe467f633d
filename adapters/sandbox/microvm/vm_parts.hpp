#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "adapters/sandbox/microvm/guest_protocol.hpp"
#include "adapters/sandbox/unique_fd.hpp"
#include "adapters/sandbox/workspace_tree.hpp"
#include "events/result.hpp"

// The pieces of the microVM adapter below the port: the guest agent's channel, QMP,
// starting QEMU confined, and the images a VM boots from.
namespace aetherium::sandbox::microvm {

using clock = std::chrono::steady_clock;

/// The host end of a guest agent's virtio-serial port (a UNIX socket QEMU serves). A
/// reader thread sorts incoming frames by id; frames with ids nobody waits for go to
/// `on_stream` (the guest's tunnelled connections), from the reader thread.
class agent_channel {
public:
  agent_channel(unique_fd fd, std::function<void(const protocol::frame&)> on_stream);
  ~agent_channel();
  agent_channel(const agent_channel&) = delete;
  agent_channel& operator=(const agent_channel&) = delete;

  /// A request id not used before on this channel (below 2^31: the guest numbers its own
  /// streams from 2^31 up).
  std::uint32_t next_id();
  /// Starts collecting frames for `id` (call before sending its request).
  void expect(std::uint32_t id);
  /// Stops collecting frames for `id` and drops what was collected.
  void forget(std::uint32_t id);
  bool send(protocol::type kind, std::uint32_t id, const std::string& body);

  enum class wait { frame, closed, timeout };
  /// The next frame for `id`, or why there is none before `deadline`.
  wait next(std::uint32_t id, protocol::frame& out, clock::time_point deadline);
  /// Sends one request and waits for its single reply frame.
  wait call(protocol::type kind, const std::string& body, protocol::frame& reply, clock::time_point deadline);
  bool closed();
  /// Unblocks every waiter and the reader; idempotent.
  void close();

private:
  void read_loop();

  unique_fd fd_;
  std::function<void(const protocol::frame&)> on_stream_;
  std::mutex mu_, write_mu_;
  std::condition_variable cv_;
  std::map<std::uint32_t, std::deque<protocol::frame>> inbox_;
  bool closed_ = false;
  std::uint32_t next_id_ = 1;
  std::thread reader_;
};

/// A QMP session with one QEMU (its `-qmp unix:...,server=on,wait=off` socket).
class qmp_client {
public:
  /// Connects (retrying until the socket exists) and negotiates capabilities.
  static result<qmp_client> connect(const std::string& path, clock::time_point deadline);
  /// Runs one command; the JSON text of "return", or unavailable with QEMU's error.
  /// `fd` >= 0 travels with the command (SCM_RIGHTS), for getfd.
  result<std::string> execute(const std::string& command_json, clock::time_point deadline, int fd = -1);

private:
  unique_fd fd_;
  std::string buffer_;
};

/// What a VM's QEMU command line depends on.
struct qemu_shape {
  std::string qemu;       ///< Absolute path of qemu-system-x86_64.
  std::string accel;      ///< "kvm" or "tcg".
  std::string kernel;     ///< vmlinux (PVH).
  std::string initramfs;
  std::string image;      ///< Root filesystem image (vda, read-only).
  std::uint64_t ram_mib = 0;
  std::string tsc_khz;    ///< For tsc_early_khz on the kernel command line.
};

/// QEMU's argv for one VM whose folder is `dir` (console.log, agent.sock, qmp.sock and
/// workspace.img there). `share` set: guest RAM is the memfd passed as descriptor 3,
/// shared (a template) or not (a clone). `incoming`: started with -incoming defer.
std::vector<std::string> qemu_command(const qemu_shape& shape, const std::string& dir, bool memfd_ram, bool share,
                                      bool incoming);

/// Connects a stream socket to `path`, retrying until it exists or `deadline`, or until
/// `keep_trying` (when given) says no.
result<unique_fd> connect_unix(const std::string& path, clock::time_point deadline,
                               const std::function<bool()>& keep_trying = {});

/// How to start one QEMU.
struct launch {
  std::vector<std::string> argv;    ///< argv[0] absolute.
  std::string dir;                  ///< Working directory; qemu.log is written there.
  std::uint32_t uid = 0, gid = 0;   ///< Never 0.
  std::vector<gid_t> groups;        ///< Supplementary groups (kvm).
  std::vector<std::string> cgroup_procs; ///< cgroup.procs files it joins before exec.
  std::vector<int> pass_fds;        ///< Become descriptors 3, 4, ... in order.
};

/// Forks and execs QEMU in new mount, network, IPC and UTS namespaces, in its control
/// group, as an unprivileged user with no_new_privs. Returns its pid (the caller reaps it).
result<pid_t> start_qemu(const launch& how);

/// Writes an initramfs (cpio newc): /init = the guest agent, /lib/modules/order and the
/// modules it lists from `modules_dir`, /dev/console. Errors: unavailable.
result<void> write_initramfs(const std::string& agent_binary, const std::string& modules_dir,
                             const std::string& out_path);

using sandbox::workspace_writer;

/// Total bytes of regular files under `dir` (not following links), for sizing an image.
std::uint64_t tree_bytes(const std::string& dir);

} // namespace aetherium::sandbox::microvm
