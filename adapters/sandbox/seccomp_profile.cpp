#include "adapters/sandbox/seccomp_profile.hpp"

#include <cerrno>
#include <sched.h>

namespace aetherium::sandbox {
namespace {

const char* const denied_syscalls[] = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "fanotify_init", "fsconfig", "fsmount", "fsopen",
    "fspick", "get_kernel_syms", "init_module", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
    "kexec_load", "keyctl", "lookup_dcookie", "mbind", "migrate_pages", "mount",
    "mount_setattr", "move_mount", "move_pages", "name_to_handle_at", "nfsservctl",
    "open_by_handle_at", "open_tree", "perf_event_open", "pidfd_getfd", "pivot_root",
    "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
    "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday",
    "swapoff", "swapon", "syslog", "umount", "umount2", "unshare", "uselib",
    "userfaultfd", "ustat", "vhangup", "vm86", "vm86old", "_sysctl", "sysfs",
};

const unsigned long namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

nlohmann::json architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return nlohmann::json::array();
#endif
}

} // namespace

nlohmann::json make_seccomp_profile() {
  nlohmann::json names = nlohmann::json::array();
  for (const char* name : denied_syscalls) names.push_back(name);
  nlohmann::json rules = nlohmann::json::array();
  rules.push_back({{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}});
  rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  // One rule per flag: the conditions of one rule are ANDed, and any single flag must deny.
  for (unsigned long flag : namespace_flags) {
    rules.push_back({{"names", {"clone"}},
                     {"action", "SCMP_ACT_ERRNO"},
                     {"errnoRet", EPERM},
                     {"args", {{{"index", 0}, {"value", flag}, {"valueTwo", flag},
                                {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  }
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", architectures()},
          {"syscalls", rules}};
}

} // namespace aetherium::sandbox
