#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium {

/// Settings of the microVM sandbox adapter (QEMU `-M microvm` behind the sandbox_runtime
/// port; it provisions only specs with runtime microvm).
struct microvm_sandbox_options {
  /// Absolute directory for VM folders, disk images, templates and the initramfs. Created
  /// if missing. One control plane per directory: list() reports all it holds.
  std::string state_dir;
  /// What deploy/images/build-microvm-kernel.sh made: vmlinux, modules/order, modules/*.ko.
  /// Empty: $AETHERIUM_MICROVM_KERNEL.
  std::string kernel_dir;
  /// The static guest agent (pid 1 of every VM). Empty: $AETHERIUM_GUEST_AGENT, then
  /// aetherium-guest-agent next to the running executable, then /usr/libexec/aetherium.
  std::string guest_agent_binary;
  std::string qemu_binary;     ///< Empty: qemu-system-x86_64 from PATH.
  std::string mkfs_binary;     ///< Empty: mkfs.ext4 from PATH.
  /// The allow-list proxy, as for the OCI adapter (egress_network.hpp). Not found:
  /// allow-list provisions fail (unavailable).
  std::string egress_proxy_binary;
  std::string ip_binary;
  std::string nft_binary;
  std::string proxy_hosts_file;
  std::vector<std::string> egress_allow_private;
  /// "kvm", "tcg" or "auto": KVM when a probe VM boots under it (once, at the first
  /// provision), TCG otherwise.
  std::string accel = "auto";
  /// QEMU runs as base + a slot number (one per live VM), never as root, in namespaces and
  /// a control group of its own.
  std::uint32_t qemu_uid_base = 2'000'000;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "aetherium-microvm";
  /// Guest RAM = the sandbox's memory limit + this (kernel, agent, page cache of the disks).
  std::uint64_t guest_overhead_bytes = 96ull << 20;
  /// What QEMU itself may use beyond guest RAM (its control group's memory.max).
  std::uint64_t qemu_overhead_bytes = 192ull << 20;
  /// Size of the workspace disk when the spec's limits.workspace_bytes is 0.
  std::uint64_t default_workspace_bytes = 1ull << 30;
  /// Start VMs as clones of a booted template per root filesystem and shape (memory,
  /// workspace size) instead of booting each one.
  bool templates = true;
  /// Clones started ahead of demand for each recently provisioned shape.
  std::size_t warm_pool_size = 0;
  /// How many shapes the pool keeps clones for.
  std::size_t warm_pool_shapes = 2;
  /// Upper bound on boot, clone and every request to the guest agent but exec.
  std::chrono::milliseconds command_timeout{60000};
  /// Destroy, at start, every VM a previous process left in state_dir.
  bool reap_orphans_at_start = true;
};

/// Makes the microVM adapter. Checks that QEMU, the kernel folder and the guest agent are
/// there; booting is tried at the first provision.
/// Errors: invalid_argument (state_dir not absolute, bad accel), unavailable (something
/// missing: the detail names it and how to get it).
result<std::unique_ptr<sandbox_runtime>> make_microvm_sandbox_runtime(microvm_sandbox_options options);

/// One sandbox_runtime over two: specs and handles with runtime microvm go to `microvm`,
/// every other to `oci`; list() and live_count() add both. `microvm` may be null: microvm
/// specs are then refused (unavailable).
std::unique_ptr<sandbox_runtime> make_runtime_router(std::shared_ptr<sandbox_runtime> oci,
                                                     std::shared_ptr<sandbox_runtime> microvm);

} // namespace aetherium
