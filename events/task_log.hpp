#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_store.hpp"
#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium {

/// A piece of a task's output, at a byte offset of the task's log.
struct log_chunk {
  std::uint64_t offset = 0;
  std::string stream; ///< "stdout", "stderr" or "system"
  std::string text;
};

/// Output of every task, kept after the task ends, bounded per task.
///
/// Thread-safe. Offsets count the bytes of a task's log from 0. When a task's log reaches
/// the store's byte limit, one "system" chunk says so and later output is dropped.
class task_log {
public:
  using chunk_handler = std::function<void(const log_chunk&)>;
  using end_handler = std::function<void()>;

  virtual ~task_log() = default;

  /// Adds output of `task`. Errors: invalid_transition after close(task).
  virtual result<void> append(const task_id& task, std::string_view stream, std::string_view text) = 0;

  /// Marks the log complete: followers get their end callback.
  virtual void close(const task_id& task) = 0;

  /// Chunks at or after `from_offset`, at most `max_bytes` of text (at least one chunk).
  virtual std::vector<log_chunk> read(const task_id& task, std::uint64_t from_offset,
                                      std::size_t max_bytes = 1 << 20) = 0;

  /// Delivers every chunk from `from_offset` on, then new ones as they arrive, then calls
  /// `on_end` once the log is closed (at once if it already is). Handlers run on the
  /// appending thread or the caller's; they must not block. Stop with the handle.
  virtual std::unique_ptr<subscription> follow(const task_id& task, std::uint64_t from_offset,
                                               chunk_handler on_chunk, end_handler on_end) = 0;
};

} // namespace aetherium
