#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/egress_network.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "adapters/sandbox/runtime_cli.hpp"
#include "adapters/sandbox/sandbox_state.hpp"

namespace aetherium::sandbox {

/// One sandbox this process provisioned (or adopted for destruction).
struct live_sandbox {
  sandbox_meta meta;
  runtime_cli cli;
  std::vector<std::string> secret_values; ///< For redaction; kept in memory only.

  std::mutex mu;
  std::condition_variable idle;   ///< Signalled when active_execs drops.
  int active_execs = 0;
  std::set<pid_t> exec_clients;   ///< Runtime CLI processes of running execs.
  bool killed = false;            ///< By a deadline, cancel, SIGKILL or destroy.
  bool cancelled = false;
  std::uint64_t exec_counter = 0;

  live_sandbox(sandbox_meta m, runtime_cli c) : meta(std::move(m)), cli(std::move(c)) {}
};

/// The OCI adapter: one bundle, one fresh cgroup and one runtime container per sandbox.
class oci_sandbox_runtime final : public sandbox_runtime {
public:
  oci_sandbox_runtime(oci_sandbox_options options, cgroup_layout layout);

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

private:
  result<void> validate(const sandbox_spec& spec) const;
  /// The CLI for a sandbox; `egress_id` names the sandbox when it has an allow-list network.
  result<runtime_cli> cli_for(sandbox_runtime_kind kind, const std::string& egress_id = {}) const;
  result<void> prepare_host(const sandbox_spec& spec, sandbox_meta& meta, const std::string& dir);
  result<void> write_bundle(const sandbox_spec& spec, const sandbox_meta& meta,
                            const std::string& dir) const;
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
};

} // namespace aetherium::sandbox
