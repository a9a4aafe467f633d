#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

// Internal to adapters/kafka: the consumer's dedupe window.
namespace aetherium::kafka {

/// The most recent `capacity` distinct ids, oldest forgotten first. Not thread-safe.
class recent_ids {
public:
  explicit recent_ids(std::size_t capacity) : capacity_(capacity) {}

  bool contains(const std::string& id) const { return set_.count(id) > 0; }

  /// Remembers `id`; forgets the oldest id when the window is full. A repeat is a no-op.
  void insert(const std::string& id) {
    if (capacity_ == 0 || !set_.insert(id).second)
      return;
    order_.push_back(id);
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }

  std::size_t size() const { return order_.size(); }

private:
  std::size_t capacity_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

} // namespace aetherium::kafka
