#pragma once
// Test-only: waits for something another thread or process makes true.

#include <chrono>
#include <functional>
#include <thread>

namespace aetherium::testing {

/// Polls `done` every 5 ms until it holds or `limit` passes; true when it held.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace aetherium::testing
