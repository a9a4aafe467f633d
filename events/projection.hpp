#pragma once

#include <cstdint>

#include "events/event.hpp"

namespace aetherium {

/// A read model: a pure fold over the log. It never fails and never does I/O; an event it
/// does not care about is ignored. Its checkpoint (the last applied position) lives with
/// it, so a read model and its position can never disagree.
class projection {
public:
  virtual ~projection() = default;
  /// Folds one event in. Events arrive in position order, each exactly once.
  virtual void apply(const recorded_event& event) = 0;
  /// The position of the last applied event (0 before the first).
  std::int64_t position() const { return position_; }
  /// Called by whoever feeds the projection, after apply.
  void advance(std::int64_t position) { position_ = position; }

private:
  std::int64_t position_ = 0;
};

} // namespace aetherium
