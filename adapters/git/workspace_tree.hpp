#pragma once

// Internal to adapters/git: a workspace as plain data. Nothing here follows a symbolic
// link, runs a program over the tree or reads more bytes than it was allowed.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "events/code_host.hpp"
#include "events/result.hpp"

namespace aetherium::git {

/// Makes `dir` (which must not exist) and, when `bytes` is non-zero, mounts a tmpfs of that
/// size there (nosuid, nodev, inodes bounded too), owned by uid:gid. Errors: unavailable.
result<void> make_workspace_fs(const std::string& dir, std::uint64_t bytes, std::uint32_t uid, std::uint32_t gid);

/// Unmounts `dir` if it is a mount point and removes it with everything below it.
void remove_workspace_fs(const std::string& dir);

/// True when the filesystem at `dir` has no block or inode left.
bool workspace_fs_full(const std::string& dir);

/// What the host knows of one entry of a workspace without reading it.
struct entry_stamp {
  std::uint64_t ino = 0, size = 0;
  std::int64_t ctime_ns = 0;
  std::uint32_t mode = 0;
  friend bool operator==(const entry_stamp& a, const entry_stamp& b) {
    return a.ino == b.ino && a.size == b.size && a.ctime_ns == b.ctime_ns && a.mode == b.mode;
  }
};

/// One entry of a base tree, as `git ls-tree -r -l` gives it.
struct base_entry {
  std::string mode; ///< "100644", "100755", "120000", "160000".
  std::string oid;
  std::uint64_t size = 0;
};

/// The stamps of every file and link below `dir` (the workspace right after checkout).
/// A file whose stamp is unchanged later was not written: ctime cannot be set back.
std::map<std::string, entry_stamp> stamp_tree(const std::string& dir);

/// Compares the workspace at `dir` with `base`: every regular file and symbolic link is read
/// as data (a link's target, never what it points to); directories named like git's own,
/// top-level `.aetherium/` and special files (FIFOs, sockets, devices) are not part of the
/// change and are listed in `ignored`. Files whose stamp matches `stamps` are unchanged
/// without being read. Content kept in memory is bounded by `max_bytes`; a larger file is
/// never read whole. Errors: invalid_argument (field max_changed_bytes) over the budget,
/// unavailable (cannot read the workspace).
result<change_set> diff_workspace(const std::string& dir, const std::map<std::string, base_entry>& base,
                                  const std::map<std::string, entry_stamp>& stamps, std::size_t max_bytes,
                                  std::vector<std::string>& ignored);

/// Writes one change below `root` without following any link on the way (a link planted
/// where a directory is expected fails the write). Files and directories made are owned by
/// uid:gid. Errors: invalid_argument (bad path, a link in the way), unavailable.
result<void> write_change(const std::string& root, const file_change& change, std::uint32_t uid, std::uint32_t gid);

/// git's object id of a blob holding `content`.
std::string blob_oid(const std::string& content);

} // namespace aetherium::git
