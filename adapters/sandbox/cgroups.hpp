#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "events/result.hpp"

namespace aetherium::sandbox {

/// How the host mounts control groups.
enum class cgroup_mode {
  v1,     ///< One hierarchy per controller under the root.
  hybrid, ///< v1 controllers plus a cgroup2 mount at <root>/unified.
  v2,     ///< One unified hierarchy at the root.
};

const char* to_string(cgroup_mode mode) noexcept;

/// Filesystem types seen at the cgroup root and at <root>/unified.
enum class fs_kind { cgroup1, cgroup2, tmpfs, other, missing };

/// Classifies a layout from what is mounted where. Errors: unavailable (no cgroups).
result<cgroup_mode> classify_cgroups(fs_kind root, fs_kind unified);

/// The host's control-group layout, detected once at start.
class cgroup_layout {
public:
  /// Inspects `root` (normally /sys/fs/cgroup). Errors: unavailable.
  static result<cgroup_layout> detect(const std::string& root = "/sys/fs/cgroup");
  /// A layout for tests: `hierarchies` are the v1 hierarchy directory names.
  cgroup_layout(cgroup_mode mode, std::string root, std::vector<std::string> hierarchies);

  cgroup_mode mode() const noexcept { return mode_; }
  const std::string& root() const noexcept { return root_; }

  /// crun 1.8 refuses hybrid hosts unless the cgroup2 mount is hidden from it.
  bool crun_needs_unified_detached() const noexcept { return mode_ == cgroup_mode::hybrid; }

  /// Every directory a runtime may create for `path` (e.g. "/aetherium/ae-1"), leaf first.
  std::vector<std::string> directories(const std::string& path) const;

  /// Directory holding the named controller's files for `path`.
  std::string controller_dir(const std::string& controller, const std::string& path) const;

private:
  cgroup_mode mode_;
  std::string root_;
  std::vector<std::string> hierarchies_;
};

/// Resource use read from one control group.
struct cgroup_usage {
  std::uint64_t memory_bytes = 0;
  std::uint64_t cpu_ns = 0;
  std::uint32_t pids = 0;
  std::uint64_t oom_kills = 0;
};

/// Reads the current usage of `path`. Errors: not_found (the group does not exist).
result<cgroup_usage> read_cgroup_usage(const cgroup_layout& layout, const std::string& path);

/// Number of processes the memory limit of `path` has killed; 0 if unknown.
std::uint64_t read_oom_kills(const cgroup_layout& layout, const std::string& path);

/// Kills whatever still runs in `path` and removes its directories, retrying until
/// `deadline` because the kernel releases a group some time after its last task exits.
/// Succeeds when none of the directories exists any more. Errors: unavailable.
result<void> remove_cgroup(const cgroup_layout& layout, const std::string& path,
                           std::chrono::steady_clock::time_point deadline);

/// Parses "key value" lines (memory.events, memory.oom_control, cpu.stat); 0 if absent.
std::uint64_t parse_keyed_value(const std::string& text, const std::string& key);

} // namespace aetherium::sandbox
