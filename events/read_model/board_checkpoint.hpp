#pragma once

#include <cstdint>
#include <string>

#include "events/projection_snapshot_store.hpp"
#include "events/read_model/task_board.hpp"
#include "events/result.hpp"

namespace aetherium::read_model {

/// Encodes the board's state for a checkpoint, and back (adapters/json/json_board_codec.hpp).
/// Implementations are stateless and thread-safe.
class board_state_codec {
public:
  virtual ~board_state_codec() = default;
  /// The version of the encoding. It changes whenever encode's output or the meaning of the
  /// state changes, so that a checkpoint written by other code is ignored, never misread.
  virtual int format_version() const = 0;
  virtual std::string encode(const board_state& state) const = 0;
  /// Errors: corrupt (the bytes are not a state of this format), naming the reason.
  virtual result<board_state> decode(const std::string& bytes) const = 0;
};

/// The name the board's checkpoints are saved under.
inline constexpr const char* board_snapshot_name = "task_board";

/// What load_checkpoint did.
struct checkpoint_load {
  std::int64_t position = 0; ///< Where the board now is: 0 when it rebuilds from the start.
  bool fallback = false;     ///< A checkpoint was there but could not be used (see note).
  std::string note;          ///< Why the board starts where it does, for the log.
};

/// Restores an empty `board` from the latest checkpoint in `store`. Never fails: without a
/// checkpoint, with one of another format, or with one that cannot be read or decoded, the
/// board stays empty (it rebuilds from position 0) and the result says why. Blocks on the store.
checkpoint_load load_checkpoint(projection_snapshot_store& store, const board_state_codec& codec, task_board& board);

/// A copy of the board at its position: taken quickly inside the fold, saved elsewhere.
struct board_capture {
  board_state state;
  std::int64_t position = 0;
};

inline board_capture capture(const task_board& board) { return {board.state(), board.position()}; }

/// Encodes and saves `capture`. Blocks on the store. Errors: those of the store's save.
result<void> save_checkpoint(projection_snapshot_store& store, const board_state_codec& codec,
                             const board_capture& capture);

} // namespace aetherium::read_model
