#pragma once

#include <memory>

#include "events/checkpoint_store.hpp"
#include "events/clock.hpp"
#include "events/event_store.hpp"

namespace aetherium::testing {

/// One store under test, fresh and empty, with its clock. Each backend file defines it.
struct backend {
  virtual ~backend() = default;
  virtual std::shared_ptr<event_store> store() = 0;
  virtual std::shared_ptr<checkpoint_store> checkpoints() = 0;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
