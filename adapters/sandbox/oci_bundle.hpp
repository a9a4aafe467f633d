#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// Where the sandbox's init binary appears inside every sandbox.
inline constexpr const char* init_path_in_sandbox = "/run/aetherium-init";

/// Everything config.json is generated from.
struct bundle_params {
  sandbox_runtime_kind runtime = sandbox_runtime_kind::crun;
  std::string rootfs_dir;         ///< Host path, mounted read-only as /.
  std::string cgroups_path;       ///< e.g. "/aetherium/ae-0123456789ab".
  std::string init_binary;        ///< Host path of the static init, bound read-only.
  std::string workspace_host_dir; ///< Bound read-write at /workspace.
  std::string secrets_host_dir;   ///< Bound read-only at /run/secrets; empty: no secrets.
  std::string netns_path;         ///< Join this network namespace; empty: a new, empty one.
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  sandbox_limits limits; ///< Already adjusted by effective_limits.
  std::uint32_t process_cap = 0; ///< RLIMIT_NPROC under runsc (the requested pids limit).
  bool limit_swap = true; ///< Set memory+swap to the memory limit (needs swap accounting).
  /// The init serves commands on descriptor 3 (init_protocol.hpp), which the runtime is
  /// told to pass in with --preserve-fds.
  bool serve_fd = false;
};

/// The OCI runtime configuration (config.json) of a hardened sandbox whose init waits.
nlohmann::json make_config(const bundle_params& params);

/// The process description (process.json) of one exec.
struct process_params {
  sandbox_runtime_kind runtime = sandbox_runtime_kind::crun;
  std::vector<std::string> argv;
  std::vector<std::string> env; ///< KEY=VALUE.
  std::string cwd = "/workspace";
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::uint32_t pids = 128; ///< Becomes RLIMIT_NPROC under runsc.
};
nlohmann::json make_process(const process_params& params);

/// Serializes `doc`; false when a string in it is not valid UTF-8 (argv, env, labels and
/// paths come from callers, and OCI documents must be UTF-8).
bool to_json_text(const nlohmann::json& doc, std::string& out, int indent = -1);

/// Floors that gVisor needs because its limits cover the sentry and gofer too.
struct runsc_floors {
  std::uint64_t memory_bytes = 256ull << 20;
  std::uint32_t pids = 1024;
};

/// The limits actually written for `kind`: zeros replaced by defaults, and for runsc the
/// cgroup limits raised to the floors (the per-process cap stays `requested.pids`, applied
/// as RLIMIT_NPROC inside gVisor).
sandbox_limits effective_limits(sandbox_runtime_kind kind, const sandbox_limits& requested,
                                const runsc_floors& floors);

} // namespace aetherium::sandbox
