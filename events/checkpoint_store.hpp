#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "events/result.hpp"

namespace aetherium {

/// Durable positions of log followers (the Kafka relay, projections kept outside the store).
///
/// A checkpoint is the position of the last event whose effect is complete; followers
/// resume after it. Thread-safe.
class checkpoint_store {
public:
  virtual ~checkpoint_store() = default;
  /// The saved position of `name`, or 0 when none was saved. Errors: unavailable.
  virtual result<std::int64_t> load(const std::string& name) = 0;
  /// Saves `position` for `name`; a lower position than the saved one is ignored so a
  /// checkpoint never moves backwards. Errors: unavailable, invalid_argument (empty name).
  virtual result<void> save(const std::string& name, std::int64_t position) = 0;
};

/// In-memory checkpoints for unit tests.
std::shared_ptr<checkpoint_store> make_memory_checkpoint_store();

} // namespace aetherium
