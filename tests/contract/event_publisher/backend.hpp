#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "events/event_publisher.hpp"

namespace aetherium::testing {

/// One publisher under test and a way to read back what reached the bus. Each backend
/// file defines make_publisher_backend.
struct publisher_backend {
  virtual ~publisher_backend() = default;
  virtual std::shared_ptr<event_publisher> publisher() = 0;
  /// The messages of `topic` in topic order per key, once at least `count` arrived or
  /// `timeout` passed (then whatever arrived).
  virtual std::vector<event_message> read(const std::string& topic, std::size_t count,
                                          std::chrono::milliseconds timeout) = 0;
};

/// A fresh backend. Fails the current test (and returns null) when it cannot be made.
std::unique_ptr<publisher_backend> make_publisher_backend();

} // namespace aetherium::testing
