#pragma once

#include <memory>

#include "events/clock.hpp"
#include "events/event_store.hpp"
#include "events/scheduling/node_registry.hpp"

namespace aetherium::testing {

/// The log the registry under test keeps its events in, fresh and empty. Each backend
/// file defines it.
struct backend {
  virtual ~backend() = default;
  /// A registry over this backend's log, with `time` as its clock. Each call is what a new
  /// process would open: a new instance (with its own connections) over the same log.
  virtual std::shared_ptr<node_registry> open(std::shared_ptr<clock> time) = 0;
  /// The log itself, to look at what was written.
  virtual std::shared_ptr<event_store> log() = 0;
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
