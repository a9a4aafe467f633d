#pragma once

#include <cstdint>
#include <string>

#include "events/event_store.hpp"

namespace aetherium {

/// What a walk over the whole log found.
struct log_verification {
  std::int64_t events_checked = 0;
  std::int64_t head_position = 0;
  bool intact = true;
  std::int64_t first_bad_position = 0; ///< 0 when intact.
  std::string reason;                  ///< Why that position fails, when not intact.
};

/// Reads the log from position 1 in pages and checks that positions are contiguous, that
/// each prev_hash equals the previous event's hash, and that each hash matches the
/// recomputed SHA-256 of its event. Stops at the first broken position.
/// Errors: whatever read_all returns (unavailable, corrupt).
result<log_verification> verify_log(event_store& store, std::size_t page_size = 10000);

} // namespace aetherium
