#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.hpp"

namespace aetherium::sandbox {

/// Maps an absolute sandbox path under /workspace to a path relative to the workspace
/// root ("/workspace/a/b" -> "a/b"). Errors: invalid_argument (outside /workspace, the
/// workspace itself, "." or ".." components).
result<std::string> workspace_relative(const std::string& sandbox_path);

/// Writes `bytes` to `relative` below `root`, resolving every component inside `root`
/// (symbolic links planted by the sandbox cannot point the write elsewhere on the host).
/// The file is created or truncated, given `mode` and owned by uid:gid.
/// Errors: invalid_argument (not a regular file, missing parent), unavailable.
result<void> write_beneath(const std::string& root, const std::string& relative,
                           std::string_view bytes, std::uint32_t mode, std::uint32_t uid,
                           std::uint32_t gid);

/// Reads the regular file `relative` below `root` with the same confinement.
/// Errors: not_found, invalid_argument (not a regular file, larger than max_bytes).
result<std::string> read_beneath(const std::string& root, const std::string& relative,
                                 std::uint64_t max_bytes);

} // namespace aetherium::sandbox
