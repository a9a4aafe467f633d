#pragma once

#include <memory>
#include <string>

#include "events/task_log.hpp"

namespace aetherium {

/// Task logs as one file per task under `dir` (`<task>.log`, records of
/// "<stream> <length>\n<text>"), with an index in memory for followers. Logs written by an
/// earlier process are read back on first use, so they survive restarts. Each task keeps
/// at most `max_bytes_per_task` bytes of text.
std::shared_ptr<task_log> make_file_task_log(std::string dir, std::uint64_t max_bytes_per_task = 8 << 20);

} // namespace aetherium
