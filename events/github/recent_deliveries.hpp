#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

namespace aetherium::github {

/// The most recent `capacity` webhook delivery ids, to drop GitHub's redeliveries.
///
/// Bounded and in memory: an id older than the last `capacity` deliveries, or one seen
/// before a restart, is not recognised (the follow-up handler must tolerate that rare
/// duplicate). Thread-safe.
class recent_deliveries {
public:
  explicit recent_deliveries(std::size_t capacity) : capacity_(capacity) {}

  /// Records `id` and returns true if it was not already known; false for a duplicate.
  /// The oldest id is forgotten when the window is full. An empty id is always new.
  bool claim(const std::string& id);

  /// Forgets `id` (its handling failed, so a redelivery must be handled again).
  void release(const std::string& id);

  std::size_t size() const;

private:
  std::size_t capacity_;
  mutable std::mutex mtx_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

} // namespace aetherium::github
