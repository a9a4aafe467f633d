#include "adapters/sandbox/oci_bundle.hpp"

#include <algorithm>

#include "adapters/sandbox/seccomp_profile.hpp"

namespace aetherium::sandbox {
namespace {

using nlohmann::json;

constexpr std::uint64_t cpu_period_us = 100000;

json no_capabilities() {
  json none = json::array();
  return {{"bounding", none}, {"effective", none}, {"inheritable", none},
          {"permitted", none}, {"ambient", none}};
}

json rlimits(sandbox_runtime_kind runtime, std::uint32_t pids) {
  json limits = {
      {{"type", "RLIMIT_NOFILE"}, {"hard", 4096}, {"soft", 4096}},
      {{"type", "RLIMIT_CORE"}, {"hard", 0}, {"soft", 0}},
  };
  // Under gVisor the cgroup covers the sentry as well; the per-process cap is this rlimit,
  // which the sentry enforces for the sandbox alone (on the host it would count the uid).
  if (runtime == sandbox_runtime_kind::runsc)
    limits.push_back({{"type", "RLIMIT_NPROC"}, {"hard", pids}, {"soft", pids}});
  return limits;
}

json mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

json mounts(const bundle_params& p) {
  std::string tmp_size = "size=" + std::to_string(p.limits.tmp_bytes);
  json list = {
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", tmp_size}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", tmp_size}),
      mount("/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755", "size=1m"}),
      mount(init_path_in_sandbox, "bind", p.init_binary, {"bind", "ro", "nosuid", "nodev"}),
      mount("/workspace", "bind", p.workspace_host_dir, {"rbind", "rw", "nosuid", "nodev"}),
  };
  if (!p.secrets_host_dir.empty())
    list.push_back(mount("/run/secrets", "bind", p.secrets_host_dir,
                         {"bind", "ro", "nosuid", "nodev", "noexec"}));
  return list;
}

json resources(const bundle_params& p) {
  json memory = {{"limit", p.limits.memory_bytes}};
  if (p.limit_swap) memory["swap"] = p.limits.memory_bytes;
  return {
      {"devices", {{{"allow", false}, {"access", "rwm"}}}},
      {"memory", memory},
      {"pids", {{"limit", p.limits.pids}}},
      {"cpu", {{"quota", p.limits.cpu_millis * cpu_period_us / 1000}, {"period", cpu_period_us}}},
  };
}

json namespaces(const bundle_params& p) {
  json network = {{"type", "network"}};
  if (!p.netns_path.empty()) network["path"] = p.netns_path;
  return {{{"type", "pid"}}, network, {{"type", "ipc"}}, {{"type", "uts"}},
          {{"type", "mount"}}, {{"type", "cgroup"}}};
}

json linux_section(const bundle_params& p) {
  json section = {
      {"namespaces", namespaces(p)},
      {"cgroupsPath", p.cgroups_path},
      {"resources", resources(p)},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
        "/proc/timer_stats", "/sys/firmware", "/sys/devices/virtual/powercap",
        "/sys/kernel/debug", "/sys/kernel/security"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  // gVisor ignores this section (its sentry filters host syscalls itself).
  if (p.runtime != sandbox_runtime_kind::runsc) section["seccomp"] = make_seccomp_profile();
  return section;
}

} // namespace

nlohmann::json make_config(const bundle_params& p) {
  json args = {init_path_in_sandbox};
  if (p.serve_fd) args.push_back("--serve-fd=3");
  json process = {
      {"terminal", false},
      {"user", {{"uid", p.uid}, {"gid", p.gid}}},
      {"args", args},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
      {"cwd", "/"},
      {"capabilities", no_capabilities()},
      {"rlimits", rlimits(p.runtime, p.process_cap ? p.process_cap : p.limits.pids)},
      {"noNewPrivileges", true},
  };
  return {{"ociVersion", "1.0.2"},
          {"process", process},
          {"root", {{"path", p.rootfs_dir}, {"readonly", true}}},
          {"hostname", "sandbox"},
          {"mounts", mounts(p)},
          {"linux", linux_section(p)}};
}

nlohmann::json make_process(const process_params& p) {
  return {{"terminal", false},
          {"user", {{"uid", p.uid}, {"gid", p.gid}}},
          {"args", p.argv},
          {"env", p.env},
          {"cwd", p.cwd},
          {"capabilities", no_capabilities()},
          {"rlimits", rlimits(p.runtime, p.pids)},
          {"noNewPrivileges", true}};
}

bool to_json_text(const nlohmann::json& doc, std::string& out, int indent) {
  try {
    out = doc.dump(indent);
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false; // invalid UTF-8: translated into invalid_argument by the callers
  }
}

sandbox_limits effective_limits(sandbox_runtime_kind kind, const sandbox_limits& requested,
                                const runsc_floors& floors) {
  sandbox_limits defaults;
  sandbox_limits out = requested;
  if (out.memory_bytes == 0) out.memory_bytes = defaults.memory_bytes;
  if (out.pids == 0) out.pids = defaults.pids;
  if (out.cpu_millis == 0) out.cpu_millis = defaults.cpu_millis;
  if (out.tmp_bytes == 0) out.tmp_bytes = defaults.tmp_bytes;
  if (kind == sandbox_runtime_kind::runsc) {
    out.memory_bytes = std::max(out.memory_bytes, floors.memory_bytes);
    out.pids = std::max(out.pids, floors.pids);
  }
  return out;
}

} // namespace aetherium::sandbox
