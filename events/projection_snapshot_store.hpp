#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "events/result.hpp"

namespace aetherium {

/// A read model's state at one position of the log, as opaque bytes in a named format.
struct projection_snapshot {
  std::string name;       ///< Which read model, e.g. "task_board".
  int format_version = 0; ///< Version of the encoding of `state`; a reader that does not know it ignores it.
  std::int64_t position = 0; ///< The last event folded into `state`.
  std::string state;      ///< The encoded state; any bytes, NUL included.
};

/// Durable checkpoints of read models kept in memory: a model saves its state with its
/// position now and then, and a restart loads the latest and folds only the events after it.
///
/// Contract shared by every implementation (tests/contract/projection_snapshot_store/):
/// - one snapshot is kept per name: the latest save replaces it, except that a save of the
///   same format at a lower position than the stored one is ignored (a checkpoint never
///   moves backwards within a format; a new format replaces an old one at any position).
/// - `state` bytes round-trip unchanged.
/// - methods are thread-safe and may block (a database round trip): never call them on a
///   thread that must not block.
class projection_snapshot_store {
public:
  virtual ~projection_snapshot_store() = default;

  /// Stores `snapshot` (see the replacement rule above). Errors: invalid_argument (empty
  /// name, negative position), unavailable (the store cannot be reached; the previous
  /// snapshot is kept).
  virtual result<void> save(const projection_snapshot& snapshot) = 0;

  /// The snapshot kept for `name`, whatever its format, or nullopt when none was saved.
  /// Errors: unavailable.
  virtual result<std::optional<projection_snapshot>> load_latest(const std::string& name) = 0;
};

/// In-memory snapshots for unit tests.
std::shared_ptr<projection_snapshot_store> make_memory_projection_snapshot_store();

} // namespace aetherium
