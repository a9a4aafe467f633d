#pragma once

#include <nlohmann/json.hpp>

namespace aetherium::sandbox {

/// The OCI `linux.seccomp` section every crun and runc sandbox gets.
///
/// Default allow, with a deny list of the kernel interfaces an unprivileged process has no
/// business with and that carry most container-escape bugs: namespace creation (unshare,
/// setns, clone with CLONE_NEW* flags; clone3 answers ENOSYS so libc falls back to clone),
/// mounts, keyrings, bpf, io_uring, userfaultfd, perf events, ptrace and cross-process
/// memory access, kernel modules, kexec, reboot, swap, clock setting, raw I/O ports.
/// Capabilities are all dropped and no_new_privs is set as well, so this is the second
/// line of defence, not the only one.
nlohmann::json make_seccomp_profile();

} // namespace aetherium::sandbox
