#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "adapters/sandbox/process_runner.hpp"
#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// How to invoke one OCI runtime for one sandbox: binary, state root and global flags.
struct runtime_invocation {
  sandbox_runtime_kind kind = sandbox_runtime_kind::crun;
  std::string binary;     ///< Absolute path.
  std::string state_root; ///< Passed as --root; holds only this adapter's containers.
  bool detach_unified_cgroup = false;     ///< crun on hybrid cgroup hosts (run and create).
  /// runsc with an allow-list network: every command runs in this network namespace
  /// (the sandbox's control socket is an abstract socket, so it lives there) and gVisor's
  /// netstack takes over its interfaces. Empty: --network=none.
  std::string runsc_netns;
  std::chrono::milliseconds timeout{30000}; ///< Bound on every lifecycle command.
};

/// The runtime's command line interface, called without a shell.
/// Every method returns unavailable with the runtime's stderr when the command fails.
class runtime_cli {
public:
  explicit runtime_cli(runtime_invocation invocation) : inv_(std::move(invocation)) {}

  /// A request for `<binary> <global flags> <args...>`; global flags are repeated on every
  /// subcommand because runsc forgets them otherwise.
  process_request command(std::vector<std::string> args) const;

  /// Creates and starts container `id` from `bundle_dir` (`run --detach`: one call
  /// instead of create + start).
  /// `pass_fd` >= 0 reaches the container's init as descriptor 3 (--preserve-fds).
  result<void> launch(const std::string& id, const std::string& bundle_dir, int pass_fd = -1) const;
  /// Creates container `id` without starting it (its init waits for start), passing
  /// `pass_fd` as descriptor 3 like launch; the init's host pid is written to `pid_file`.
  result<void> create(const std::string& id, const std::string& bundle_dir, int pass_fd,
                      const std::string& pid_file) const;
  /// Starts a created container.
  result<void> start(const std::string& id) const;
  /// Sends `sig` to the container's init, or to all its processes when `all`.
  result<void> kill(const std::string& id, int sig, bool all) const;
  /// Deletes the container, killing it first if needed. Succeeds when it does not exist.
  result<void> remove(const std::string& id) const;
  /// The runtime's status word ("created", "running", "stopped"). Errors: not_found.
  result<std::string> status(const std::string& id) const;
  /// Ids of every container under the state root.
  result<std::vector<std::string>> list_ids() const;
  /// The request that runs process.json `process_file` in container `id`.
  process_request exec(const std::string& id, const std::string& process_file) const;

  const runtime_invocation& invocation() const noexcept { return inv_; }

private:
  result<captured_run> run(std::vector<std::string> args) const;
  /// run or create: the commands that set a container up, with the unified cgroup hidden
  /// where crun needs it.
  result<void> set_up(const char* what, std::vector<std::string> args, int pass_fd) const;
  result<void> run_ok(std::vector<std::string> args) const;

  runtime_invocation inv_;
};

} // namespace aetherium::sandbox
