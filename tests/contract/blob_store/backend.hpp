#pragma once

#include <memory>

#include "events/blob_store.hpp"

namespace aetherium::testing {

/// One store under test, fresh and empty. Each backend file defines it.
struct backend {
  virtual ~backend() = default;
  virtual std::shared_ptr<blob_store> store() = 0;
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
