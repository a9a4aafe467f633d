#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/result.hpp"

// A workspace as data: read from one directory without following anything, written into
// another as hostile input. The microVM adapter copies a guest's workspace out with it, and
// the node link ships workspaces between the control plane and the node that runs the
// sandbox.
namespace aetherium::sandbox {

/// What an entry is; the numbers are those of the microVM guest protocol.
enum class entry_kind : std::uint32_t { directory = 1, file = 2, symlink = 3 };

/// One entry of a tree: parents come before their children.
struct tree_entry {
  std::uint32_t kind = 0;  ///< An entry_kind.
  std::string path;        ///< Relative, '/'-separated.
  std::uint32_t mode = 0;  ///< Permission bits.
  std::string bytes;       ///< File contents or link target; empty for directories.
};

/// Reads every directory, regular file and symbolic link under `dir` (links as links,
/// never followed; other special files skipped). Errors: invalid_argument when the files
/// hold more than `max_bytes` or there are more than `max_entries` entries or directories
/// nest deeper than 256; unavailable when `dir` cannot be read.
result<std::vector<tree_entry>> read_tree(const std::string& dir, std::uint64_t max_bytes,
                                          std::uint32_t max_entries = 1'000'000);

/// Empties `dir` in place (it may be a mount point; nothing in it is followed) and writes
/// `entries` into it with a workspace_writer. Errors: as workspace_writer::add, or
/// unavailable when `dir` cannot be opened or emptied.
result<void> replace_tree(const std::string& dir, const std::vector<tree_entry>& entries, std::uint32_t uid,
                          std::uint32_t gid, std::uint64_t max_bytes);

/// Writes a workspace someone else describes (entries, parents before children)
/// under a host directory. Every entry is hostile: a path must be relative
/// with no empty, "." or ".." part and lead only through directories this writer made
/// (no link is followed: each step is opened with O_NOFOLLOW below `root_fd`); link
/// targets are stored as given, never resolved; setuid, setgid and sticky bits are
/// dropped; everything is owned by uid:gid. Refuses more than `max_bytes` of file
/// contents or `max_entries` entries in all.
class workspace_writer {
public:
  workspace_writer(int root_fd, std::uint32_t uid, std::uint32_t gid, std::uint64_t max_bytes,
                   std::uint32_t max_entries = 1'000'000);
  /// `kind` is an entry_kind. Errors: invalid_argument naming what was refused.
  result<void> add(std::uint32_t kind, const std::string& rel, std::uint32_t mode, const std::string& bytes);

private:
  int root_;
  std::uint32_t uid_, gid_;
  std::uint64_t max_bytes_, bytes_ = 0;
  std::uint32_t max_entries_, entries_ = 0;
};

} // namespace aetherium::sandbox
