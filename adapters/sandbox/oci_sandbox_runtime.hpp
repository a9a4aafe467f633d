#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium {

/// Settings of the OCI sandbox adapter (crun, runc and runsc behind one port).
struct oci_sandbox_options {
  /// Absolute directory for bundles, runtime state, secret mounts and workspace images.
  /// Created if missing. One control plane per directory: list() reports all it holds.
  std::string state_dir;
  /// Static binary run as pid 1 of every sandbox. Empty: $AETHERIUM_SANDBOX_INIT, then
  /// aetherium-sandbox-init next to the running executable, then
  /// /usr/libexec/aetherium/aetherium-sandbox-init.
  std::string init_binary;
  /// Runtime binaries; empty: looked up in PATH. A missing runtime makes provision with
  /// it fail (unavailable), the others keep working.
  std::string crun_binary;
  std::string runc_binary;
  std::string runsc_binary;
  std::string mkfs_binary;      ///< mkfs.ext4, for size-bounded workspaces.
  std::string ip_binary;        ///< iproute2 `ip`, for allow-list networks.
  std::string nft_binary;       ///< nftables `nft`, for allow-list networks.
  /// The per-sandbox proxy of allow-list networks. Empty: $AETHERIUM_EGRESS_PROXY, then
  /// aetherium-egress-proxy next to the running executable, then
  /// /usr/libexec/aetherium/aetherium-egress-proxy. Not found: allow-list provisions fail
  /// (unavailable), the other sandboxes keep working.
  std::string egress_proxy_binary;
  /// Non-empty: allow-list proxies resolve host names with this file only, instead of the
  /// host's resolver; pins API hosts, and lets tests use fake names.
  std::string proxy_hosts_file;
  /// Address ranges (CIDR: "10.20.0.0/16", "fd12::/64", or one address) allow-list
  /// proxies may connect to although they are loopback, private, link-local or otherwise
  /// not public; by default they refuse every such address a name resolves to. A cloud
  /// metadata address (169.254.169.254, ...) opens only for a range of exactly that
  /// address. make_oci_sandbox_runtime refuses a bad range (invalid_argument).
  std::vector<std::string> egress_allow_private;
  std::string cgroup_root = "/sys/fs/cgroup";
  /// Parent control group of every sandbox's own group ("/<parent>/<id>").
  std::string cgroup_parent = "aetherium";
  /// gVisor's limits cover its sentry and gofer too: its cgroup gets at least these, and
  /// the requested pids limit becomes RLIMIT_NPROC inside the sandbox.
  std::uint64_t runsc_min_memory_bytes = 256ull << 20;
  std::uint32_t runsc_min_pids = 1024;
  /// Upper bound on every runtime lifecycle command (run, exec setup, kill, delete).
  std::chrono::milliseconds command_timeout{30000};
  /// Destroy, at start, every sandbox a previous process left in state_dir (found like
  /// list() finds them). Best effort: what cannot be removed stays listed. Turn off to
  /// inspect orphans first.
  bool reap_orphans_at_start = true;
  /// Sandboxes created ahead of demand (container created, init not started) for each
  /// recently provisioned shape (runtime, root filesystem, limits, user; crun and runc
  /// without an allow-list network). provision hands one out after mounting the spec's
  /// workspace and secrets into it. 0: every sandbox is made on demand.
  std::size_t warm_pool_size = 0;
  /// How many shapes the pool keeps sandboxes for; the least recently used one goes first.
  std::size_t warm_pool_shapes = 2;
};

/// Makes the OCI adapter. Detects the host's cgroup layout (v1, hybrid or v2) once, and
/// reaps orphaned sandboxes unless told not to.
/// Errors: invalid_argument (state_dir not absolute, a bad egress_allow_private range),
/// unavailable (no cgroups, no init binary, state_dir cannot be created).
result<std::unique_ptr<sandbox_runtime>> make_oci_sandbox_runtime(oci_sandbox_options options);

} // namespace aetherium
