#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/result.hpp"

namespace aetherium {

/// What executes a sandbox: an OCI runtime or a microVM.
enum class sandbox_runtime_kind {
  crun,  ///< Default: fastest start.
  runc,  ///< Reference runtime.
  runsc,   ///< gVisor: a user-space kernel between the task and the host.
  microvm, ///< A QEMU microVM: a guest kernel of its own between the task and the host.
};

/// Stable lowercase name ("crun", "runc", "runsc", "microvm").
inline const char* to_string(sandbox_runtime_kind kind) noexcept {
  switch (kind) {
    case sandbox_runtime_kind::crun: return "crun";
    case sandbox_runtime_kind::runc: return "runc";
    case sandbox_runtime_kind::runsc: return "runsc";
    case sandbox_runtime_kind::microvm: return "microvm";
  }
  return "crun";
}

/// Parses a runtime name; false when `name` is not one of the names above.
inline bool parse_sandbox_runtime_kind(std::string_view name, sandbox_runtime_kind& out) noexcept {
  for (auto kind : {sandbox_runtime_kind::crun, sandbox_runtime_kind::runc,
                    sandbox_runtime_kind::runsc, sandbox_runtime_kind::microvm}) {
    if (name == to_string(kind)) {
      out = kind;
      return true;
    }
  }
  return false;
}

/// Resource bounds of one sandbox. Zero means "the implementation's default", never
/// "unlimited": every sandbox is bounded.
struct sandbox_limits {
  std::uint64_t memory_bytes = 256ull << 20; ///< RAM of all processes together (no swap).
  std::uint32_t pids = 128;                  ///< Live processes and threads together.
  std::uint32_t cpu_millis = 1000;           ///< CPU quota in thousandths of a core.
  std::uint64_t tmp_bytes = 64ull << 20;     ///< Size of the tmpfs at /tmp.
  /// Size of the filesystem at /workspace. Non-zero: the sandbox works on a private,
  /// size-bounded copy of `workspace_dir` that lives as long as the sandbox (collect
  /// results with exec or copy_out before destroy). Zero: `workspace_dir` itself is
  /// bind-mounted and only the host filesystem bounds it.
  std::uint64_t workspace_bytes = 0;
};

/// Outbound network access of a sandbox.
struct network_policy {
  enum class mode {
    none,       ///< A private network namespace with only `lo`.
    allow_list, ///< Only HTTP(S) through a host-side proxy that admits `allowed_hosts`.
  };
  mode kind = mode::none;
  /// Host names (exact, or ".example.com" for a domain and its subdomains).
  std::vector<std::string> allowed_hosts;
};

/// What to provision.
struct sandbox_spec {
  sandbox_runtime_kind runtime = sandbox_runtime_kind::crun;
  std::string rootfs_dir;    ///< Absolute path of an unpacked root filesystem; mounted read-only.
  std::string workspace_dir; ///< Absolute host directory that appears read-write at /workspace.
  sandbox_limits limits;
  network_policy network;
  /// Secret name -> bytes. Each appears as /run/secrets/<name> (read-only, mode 0400, owned
  /// by uid:gid), never in the environment; values are redacted from exec output.
  /// Names: [A-Za-z0-9._-]{1,64}, not starting with '.'.
  std::map<std::string, std::string> secrets;
  std::uint32_t uid = 65534; ///< Never 0: provisioning a root sandbox is refused.
  std::uint32_t gid = 65534;
  /// Free-form labels kept with the sandbox's state (e.g. "task" -> task id) and returned
  /// by list(), so a restarted control plane can tell what each sandbox was for.
  std::map<std::string, std::string> labels;
  /// Absolute path of a host UNIX socket (the model gateway of this sandbox). Non-empty:
  /// every exec gets env AETHERIUM_MODEL_GATEWAY=http://<address>:<port> (an address only
  /// this sandbox reaches, relayed byte for byte to the socket) and that address in
  /// NO_PROXY/no_proxy; a sandbox with network none then gets an allow-list network that
  /// admits no host, so the gateway is its only way out.
  /// The socket need not exist at provision: each connection connects to it anew. A
  /// relative path is invalid_argument ("gateway_socket"), and so is any path for an
  /// implementation whose sandboxes run on another host (the cluster's, for another node). Such sandboxes never come from
  /// a warm pool.
  std::string gateway_socket;
};

/// Identifies a provisioned sandbox. Cheap to copy; valid until destroy.
struct sandbox_handle {
  std::string id; ///< Unique among the sandboxes of one state directory.
  sandbox_runtime_kind runtime = sandbox_runtime_kind::crun;
};

/// Which output stream a chunk came from.
enum class output_stream { out, err };

/// Receives output chunks in the order they were read; chunks of one stream are in order.
/// Called on the thread that runs exec. Secret values are already replaced by "[REDACTED]".
using output_callback = std::function<void(output_stream, std::string_view)>;

/// One command to run inside a sandbox. No shell is involved: argv[0] is looked up in PATH.
struct exec_request {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env; ///< Added to a minimal PATH/HOME environment.
  std::string stdin_data;                 ///< Written to the command's stdin, then closed.
  std::string cwd = "/workspace";
  output_callback on_output;              ///< May be empty: output is then discarded.
  /// When reached, every process of the sandbox is killed (the sandbox is unusable
  /// afterwards) and exec returns with timed_out set.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

/// How a command ended.
struct exit_status {
  int exit_code = -1;     ///< As a shell reports it: 128 + signal when killed by a signal.
  int signal = 0;         ///< The killing signal, 0 when the command exited by itself.
  bool oom_killed = false; ///< The sandbox's memory limit killed a process during this exec.
  bool timed_out = false;  ///< The deadline was reached and the sandbox killed.
  bool cancelled = false;  ///< cancel() or destroy() ended the command.
  /// The command never ran: argv[0] is not in the sandbox or cannot be executed (exit_code
  /// is then 127 or 126, as a shell reports it). A command that ran and exited 127 itself
  /// leaves this false. Runtimes that cannot tell the two apart (runsc) leave it false.
  bool not_executed = false;
};

/// Resource use of a sandbox, read from its control group.
struct sandbox_stats {
  std::uint64_t memory_bytes = 0; ///< Current memory charge (includes page cache, tmpfs).
  std::uint64_t cpu_ns = 0;       ///< CPU time used since provisioning.
  std::uint32_t pids = 0;         ///< Current number of tasks (processes and threads).
  std::uint64_t oom_kills = 0;    ///< Processes killed by the memory limit so far.
};

/// A sandbox found in the implementation's state, with what it was provisioned for.
struct sandbox_info {
  sandbox_handle handle;
  std::map<std::string, std::string> labels;
  bool running = false; ///< The runtime still holds a container for it (it may have stopped).
};

/// The start of an error's detail when a sandbox ran on another host (a node) that went
/// away under it: the error is unavailable, and a task it ran ends with reason node_lost.
inline constexpr const char* node_lost_detail = "node_lost: ";

/// Whether `e` says a sandbox's node was lost.
inline bool is_node_lost(const error& e) {
  return e.code == errc::unavailable && e.detail.rfind(node_lost_detail, 0) == 0;
}

/// Runs untrusted commands in disposable, hardened sandboxes.
///
/// Contract shared by every implementation:
/// - Methods are thread-safe. Several exec calls may run on one sandbox at once; cancel
///   and destroy may be called while exec runs on another thread.
/// - A handle whose sandbox was destroyed (or never existed) yields not_found, except
///   for destroy, which then succeeds.
/// - Errors: invalid_argument (bad spec or request; the field names the input),
///   not_found, invalid_transition (the sandbox was killed by a deadline or cancel),
///   unavailable (the runtime failed; the detail carries its message), internal.
class sandbox_runtime {
public:
  virtual ~sandbox_runtime() = default;

  /// Creates and starts a sandbox that is ready for exec. On failure nothing is left
  /// behind (no container, control group, mount or state directory).
  virtual result<sandbox_handle> provision(const sandbox_spec& spec) = 0;

  /// Runs one command to completion, streaming its output to `request.on_output`.
  /// Returns once the command has exited and its output pipes are drained.
  virtual result<exit_status> exec(const sandbox_handle& handle, const exec_request& request) = 0;

  /// Writes `bytes` to `path` (absolute, under /workspace), creating or truncating it with
  /// `mode`, owned by the sandbox user. Symbolic links are resolved inside the workspace only;
  /// errors: invalid_argument (path outside /workspace, missing parent), not_found.
  virtual result<void> copy_in(const sandbox_handle& handle, const std::string& path,
                               std::string_view bytes, std::uint32_t mode = 0644) = 0;

  /// Reads the file at `path` (absolute, under /workspace), up to `max_bytes`.
  /// Errors: invalid_argument (outside /workspace, too large), not_found.
  virtual result<std::string> copy_out(const sandbox_handle& handle, const std::string& path,
                                       std::uint64_t max_bytes = 64ull << 20) = 0;

  /// Sends `sig` to every process of the sandbox. The sandbox's own init ignores catchable
  /// signals, so SIGTERM, SIGINT etc. reach only the commands; SIGKILL ends the whole
  /// sandbox like cancel (without setting cancelled).
  virtual result<void> signal(const sandbox_handle& handle, int sig) = 0;

  /// Kills every process of the sandbox at once. Running exec calls return promptly with
  /// cancelled set; later exec calls fail with invalid_transition. Idempotent.
  virtual result<void> cancel(const sandbox_handle& handle) = 0;

  /// Kills the sandbox and removes everything it had on the host: container state,
  /// control groups, mounts, secrets, bundle. Idempotent; works on handles from list()
  /// after a restart. On error the sandbox stays listed so destroy can be retried.
  virtual result<void> destroy(const sandbox_handle& handle) = 0;

  /// Current resource use.
  virtual result<sandbox_stats> stats(const sandbox_handle& handle) = 0;

  /// Every sandbox this implementation's state directory holds, including those left by a
  /// previous process that died: pass them to destroy to reap them.
  virtual result<std::vector<sandbox_info>> list() = 0;

  /// How many sandboxes are live, for metrics: list().size() by default. An implementation
  /// may leave out what only a runtime's own records know (orphans list() would find for
  /// reaping) to answer without starting a process.
  virtual result<std::size_t> live_count() {
    auto live = list();
    if (!live)
      return live.err();
    return live->size();
  }
};

} // namespace aetherium
