#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

#include "events/result.hpp"

namespace aetherium::sandbox {

/// Mounts a small tmpfs at `dir` (mode 0500, owned by uid:gid), writes each secret as a
/// file of mode 0400 owned by uid:gid, then makes the tmpfs read-only. The values never
/// touch a disk. Errors: invalid_argument (bad name), unavailable (mount or write failed).
result<void> mount_secrets(const std::string& dir, const std::map<std::string, std::string>& secrets,
                           std::uint32_t uid, std::uint32_t gid);

/// True when `name` may be used as a secret file name: [A-Za-z0-9._-]{1,64}, no leading dot.
bool valid_secret_name(const std::string& name);

/// Creates a sparse `bytes`-sized ext4 image at `image`, seeded with the contents of
/// `seed_dir` (when not empty), and mounts it at `mount_dir` through a loop device that
/// detaches itself at unmount. The root directory is owned by uid:gid.
/// Errors: unavailable (mkfs, loop or mount failed).
result<void> mount_bounded_workspace(const std::string& image, const std::string& mount_dir,
                                     std::uint64_t bytes, const std::string& seed_dir,
                                     std::uint32_t uid, std::uint32_t gid,
                                     const std::string& mkfs_binary);

/// Mounts a copy of the host directory `source` (with what is mounted below it) at
/// `target` inside the mount namespace of process `pid` (a sandbox's init, created but
/// not started), nosuid and nodev, read-only when asked. The sandbox's own mount stays
/// beneath, hidden. Errors: unavailable (the kernel refused; the detail says which step).
result<void> inject_mount(pid_t pid, const std::string& source, const std::string& target, bool read_only);

/// Mount points at or below `dir`, deepest first, read from /proc/self/mountinfo.
std::vector<std::string> mounts_below(const std::string& dir);

/// Unmounts every mount at or below `dir`. Errors: unavailable (one stays mounted).
result<void> unmount_below(const std::string& dir);

} // namespace aetherium::sandbox
