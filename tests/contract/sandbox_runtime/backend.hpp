#pragma once

#include <memory>

#include "events/sandbox_runtime.hpp"

namespace aetherium::testing {

/// One sandbox runtime under test and a spec it can provision. Each backend file defines it.
struct backend {
  virtual ~backend() = default;
  virtual sandbox_runtime& runtime() = 0;
  /// A valid spec (non-root user, an image the runtime has, a fresh workspace).
  virtual sandbox_spec spec() = 0;
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
