#pragma once

#include <cstdint>
#include <memory>

#include "events/task_log.hpp"

namespace aetherium::api {

/// Task logs held in memory, bounded to `max_bytes_per_task` bytes of text per task (then
/// one "system" chunk says so and later output is dropped). A follower that starts in the
/// middle of a chunk gets the chunk's tail. Handlers run under the log's lock, on the
/// appending thread or the follower's; stop() may be called from inside a handler.
std::shared_ptr<task_log> make_memory_task_log(std::uint64_t max_bytes_per_task = 1 << 20);

} // namespace aetherium::api
