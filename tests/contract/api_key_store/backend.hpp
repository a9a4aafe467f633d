#pragma once

#include <memory>

#include "events/api/api_key_store.hpp"

namespace aetherium::testing {

/// Where the keys under test live, fresh and empty. Each backend file defines it.
struct backend {
  virtual ~backend() = default;
  /// A store over this backend's data. Each call is what a new process would open: for the
  /// event-log store a new instance over the same log, so it must see every key written
  /// before; the in-memory store has nothing to reopen and returns the one instance.
  virtual std::shared_ptr<api::api_key_store> open() = 0;
};

std::unique_ptr<backend> make_backend();

} // namespace aetherium::testing
