#include "events/read_model/board_checkpoint.hpp"

namespace aetherium::read_model {

checkpoint_load load_checkpoint(projection_snapshot_store& store, const board_state_codec& codec, task_board& board) {
  checkpoint_load out;
  auto latest = store.load_latest(board_snapshot_name);
  if (!latest) {
    out.fallback = true;
    out.note = "the checkpoint could not be read (" + latest.err().detail + "): rebuilding from position 0";
    return out;
  }
  if (!*latest) {
    out.note = "no checkpoint saved: rebuilding from position 0";
    return out;
  }
  auto& snap = **latest;
  if (snap.format_version != codec.format_version()) {
    out.note = "the checkpoint at position " + std::to_string(snap.position) + " has format "
               + std::to_string(snap.format_version) + ", this build reads " + std::to_string(codec.format_version())
               + ": rebuilding from position 0";
    return out;
  }
  auto state = codec.decode(snap.state);
  if (!state) {
    out.fallback = true;
    out.note = "the checkpoint at position " + std::to_string(snap.position) + " is corrupt (" + state.err().detail
               + "): rebuilding from position 0";
    return out;
  }
  board.restore(std::move(*state), snap.position);
  out.position = snap.position;
  out.note = "loaded the checkpoint at position " + std::to_string(snap.position);
  return out;
}

result<void> save_checkpoint(projection_snapshot_store& store, const board_state_codec& codec,
                             const board_capture& capture) {
  return store.save({board_snapshot_name, codec.format_version(), capture.position, codec.encode(capture.state)});
}

} // namespace aetherium::read_model
