#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/egress_network.hpp"
#include "adapters/sandbox/init_channel.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "adapters/sandbox/runtime_cli.hpp"
#include "adapters/sandbox/sandbox_state.hpp"

namespace aetherium::sandbox {

/// One sandbox this process provisioned (or adopted for destruction).
struct live_sandbox {
  sandbox_meta meta;
  runtime_cli cli;
  std::vector<std::string> secret_values; ///< For redaction; kept in memory only.
  /// Starts commands through the sandbox's init; absent under runsc and for sandboxes a
  /// previous process provisioned, which use `<runtime> exec`.
  std::unique_ptr<init_channel> channel;

  std::mutex mu;
  std::condition_variable idle;   ///< Signalled when active_execs drops.
  int active_execs = 0;
  std::set<pid_t> exec_clients;   ///< Runtime CLI processes of running execs.
  bool killed = false;            ///< By a deadline, cancel, SIGKILL or destroy.
  bool cancelled = false;
  std::uint64_t exec_counter = 0;

  live_sandbox(sandbox_meta m, runtime_cli c) : meta(std::move(m)), cli(std::move(c)) {}
};

/// `e`, with a note when the cleanup after it failed too.
inline error with_cleanup_note(error e, const result<void>& cleanup) {
  if (!cleanup) e.detail += " (cleanup failed too: " + cleanup.err().detail + ")";
  return e;
}

/// A sandbox made ahead of demand: its container is created but its init not started, and
/// its /workspace and /run/secrets are empty placeholders until it is handed out.
struct warm_sandbox {
  sandbox_meta meta;
  runtime_cli cli;
  std::unique_ptr<init_channel> channel;
  pid_t init_pid = -1;

  warm_sandbox(sandbox_meta m, runtime_cli c) : meta(std::move(m)), cli(std::move(c)) {}
};

/// The OCI adapter: one bundle, one fresh cgroup and one runtime container per sandbox.
class oci_sandbox_runtime final : public sandbox_runtime {
public:
  oci_sandbox_runtime(oci_sandbox_options options, cgroup_layout layout);
  /// Destroys the warm sandboxes; live ones stay for a later process to adopt or reap.
  ~oci_sandbox_runtime() override;

  /// Starts keeping warm sandboxes for `spec`'s shape, as its first provision would.
  /// False when such specs cannot be pooled (runsc, allow-list network, gateway, no pool).
  bool prewarm(const sandbox_spec& spec);
  /// Warm sandboxes ready now for specs shaped like `spec` (0 when it cannot be pooled).
  std::size_t warm_count(const sandbox_spec& spec);
  /// Provisions served from the pool so far.
  std::uint64_t warm_hits() const noexcept { return warm_hits_.load(); }
  /// Ids of the pool's sandboxes (not listed by list()).
  std::vector<std::string> warm_ids();

  // sandbox_runtime
  result<sandbox_handle> provision(const sandbox_spec& spec) override;
  result<exit_status> exec(const sandbox_handle& handle, const exec_request& request) override;
  result<void> copy_in(const sandbox_handle& handle, const std::string& path,
                       std::string_view bytes, std::uint32_t mode) override;
  result<std::string> copy_out(const sandbox_handle& handle, const std::string& path,
                               std::uint64_t max_bytes) override;
  result<void> signal(const sandbox_handle& handle, int sig) override;
  result<void> cancel(const sandbox_handle& handle) override;
  result<void> destroy(const sandbox_handle& handle) override;
  result<sandbox_stats> stats(const sandbox_handle& handle) override;
  result<std::vector<sandbox_info>> list() override;
  /// The sandboxes this adapter made and has not destroyed (its state directory), without
  /// asking the runtime CLIs: a metrics sample must not fork crun, runc and runsc.
  result<std::size_t> live_count() override;

private:
  result<void> validate(const sandbox_spec& spec) const;
  /// The CLI for a sandbox; `egress_id` names the sandbox when it has an allow-list network.
  result<runtime_cli> cli_for(sandbox_runtime_kind kind, const std::string& egress_id = {}) const;
  result<void> prepare_host(const sandbox_spec& spec, sandbox_meta& meta, const std::string& dir);
  /// `secrets_dir`: host directory bound at /run/secrets, empty for none.
  result<void> write_bundle(const sandbox_spec& spec, const sandbox_meta& meta, const std::string& dir,
                            bool serve, const std::string& secrets_dir) const;

  // The warm pool (oci_warm_pool.cpp).
  /// The pool a spec's sandboxes come from; empty when they cannot be made ahead
  /// (runsc, allow-list networks, gateways: all are fixed when the container is created).
  std::string pool_key(const sandbox_spec& spec) const;
  /// Keeps `spec`'s shape among the pooled ones; destroys the warm sandboxes of a shape
  /// that falls out.
  void remember_shape(const std::string& key, const sandbox_spec& spec);
  std::unique_ptr<warm_sandbox> take_warm(const std::string& key);
  result<std::unique_ptr<warm_sandbox>> make_warm(const sandbox_spec& shape, const std::string& id);
  /// Gives a warm sandbox `spec`'s workspace, secrets and labels, and starts it.
  result<sandbox_handle> start_warm(std::unique_ptr<warm_sandbox> warm, const sandbox_spec& spec);
  void refill_loop();
  /// Ids of the pool's sandboxes, ready or being made.
  std::set<std::string> pooled_ids();
  /// exec through the init's control socket, or through the runtime CLI.
  result<process_outcome> run_via_init(live_sandbox& box, const exec_request& request,
                                       process_request& run, int& spawn_errno, int& exec_errno);
  result<process_outcome> run_via_cli(live_sandbox& box, const exec_request& request,
                                      process_request& run);
  /// Kills a sandbox of this process, waits for its execs, tears it down.
  result<void> destroy_live(const std::shared_ptr<live_sandbox>& box);
  /// Tears down a sandbox known only from the state directory or the runtime.
  result<void> reap(const sandbox_handle& handle);
  /// Removes everything of `meta` from the host; safe to call on partial state.
  result<void> teardown(const sandbox_meta& meta, const runtime_cli& cli);
  /// Kills the container's init (and with it every process) and the exec clients.
  void kill_all(live_sandbox& box);
  std::shared_ptr<live_sandbox> find(const std::string& id);
  std::string sandbox_dir(const std::string& id) const;
  egress_tools egress() const;
  result<std::string> write_process_file(live_sandbox& box, const exec_request& request);

  oci_sandbox_options options_;
  cgroup_layout layout_;
  bool limit_swap_ = true;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<live_sandbox>> live_;

  std::mutex pool_mu_;
  std::condition_variable pool_changed_;
  bool stopping_ = false;
  std::map<std::string, std::deque<std::unique_ptr<warm_sandbox>>> warm_;
  std::deque<std::pair<std::string, sandbox_spec>> shapes_; ///< Most recently used first.
  std::set<std::string> making_; ///< Ids of warm sandboxes being created.
  std::thread refiller_;
  std::atomic<std::uint64_t> warm_hits_{0};
};

} // namespace aetherium::sandbox
