#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox_testing {

/// The busybox root filesystem for tests: $AETHERIUM_TEST_ROOTFS when set, otherwise
/// built (once, cached) by deploy/images/build-busybox-rootfs.sh.
result<std::string> test_rootfs();

/// Absolute path of a runtime binary. Errors: unavailable with an install hint.
result<std::string> runtime_binary(sandbox_runtime_kind kind);

/// Output and status of one exec.
struct exec_output {
  exit_status status;
  std::string out;
  std::string err;
};

/// An adapter over a private state directory and control-group parent, torn down after.
class sandbox_env {
public:
  /// Creates the adapter; the error explains what the host lacks (root, runtime, image).
  /// `proxy_hosts_file`: hosts file for allow-list proxies (fake names in tests).
  /// `warm_pool`: every provision whose spec can be pooled is served by a warm sandbox
  /// (the env waits for one first); cold_provisions() counts those that were not.
  /// `egress_allow_private`: non-public ranges allow-list proxies may connect to.
  static result<std::unique_ptr<sandbox_env>> make(sandbox_runtime_kind kind,
                                                   std::string proxy_hosts_file = {},
                                                   bool warm_pool = false,
                                                   std::vector<std::string> egress_allow_private = {});
  ~sandbox_env();

  sandbox_runtime& runtime() { return *runtime_; }
  /// A spec for the busybox image running as 1000:1000 with a fresh workspace.
  sandbox_spec spec();
  result<exec_output> run(const sandbox_handle& h, std::vector<std::string> argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          std::string stdin_data = {});
  /// Runs `script` with /bin/sh -c.
  result<exec_output> sh(const sandbox_handle& h, const std::string& script,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::string& state_dir() const { return state_dir_; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  sandbox_runtime_kind kind() const { return kind_; }
  /// Provisions of poolable specs that a warm pool env had to serve cold.
  int cold_provisions() const;
  /// Control-group directories left below this env's parent, in every hierarchy (the
  /// warm pool's own sandboxes aside).
  std::vector<std::string> leftover_cgroups() const;
  /// Mount points left below the state directory.
  std::vector<std::string> leftover_mounts() const;
  /// Container ids the runtime binary itself still lists under the adapter's root (the
  /// warm pool's own sandboxes aside).
  std::vector<std::string> runtime_containers() const;
  /// Path of a sandbox's state directory.
  std::string sandbox_dir(const std::string& id) const { return state_dir_ + "/sandboxes/" + id; }

  /// Makes another adapter over the same state directory (a restarted control plane).
  result<std::unique_ptr<sandbox_runtime>> reopen(bool reap_orphans_at_start) const;

private:
  sandbox_env() = default;
  oci_sandbox_options options(bool reap_orphans_at_start = false) const;
  std::vector<std::string> warm_ids() const;

  sandbox_runtime_kind kind_ = sandbox_runtime_kind::crun;
  std::string rootfs_;
  std::string state_dir_;
  std::string cgroup_parent_;
  std::string proxy_hosts_file_;
  std::vector<std::string> egress_allow_private_;
  std::vector<std::string> workspaces_;
  std::unique_ptr<sandbox_runtime> runtime_;
  bool warm_pool_ = false;
  std::shared_ptr<int> cold_provisions_ = std::make_shared<int>(0);
};

/// Polls `done` until it returns true or `timeout` passes; returns its last answer.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The value of "Key:" in a /proc/<pid>/status text, without surrounding blanks.
std::string status_field(const std::string& status, const std::string& key);

} // namespace aetherium::sandbox_testing
