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
  /// Whether sandboxes reach a gateway socket on this host. One that cannot (the cluster's
  /// port, for another node) must refuse such a spec with invalid_argument "gateway_socket".
  virtual bool reaches_gateway() const { return true; }
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
