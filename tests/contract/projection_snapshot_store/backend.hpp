#pragma once

#include <memory>

#include "events/projection_snapshot_store.hpp"

namespace aetherium::testing {

/// One store under test, fresh and empty. Each backend file defines it.
struct backend {
  virtual ~backend() = default;
  virtual std::shared_ptr<projection_snapshot_store> store() = 0;
  /// A second handle on the same snapshots (another process, for the database): what one
  /// saves, the other loads.
  virtual std::shared_ptr<projection_snapshot_store> reopened() = 0;
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
