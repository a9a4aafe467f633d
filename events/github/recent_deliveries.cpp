#include "events/github/recent_deliveries.hpp"

#include <algorithm>

namespace aetherium::github {

bool recent_deliveries::claim(const std::string& id) {
  if (id.empty())
    return true;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!set_.insert(id).second)
    return false;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

void recent_deliveries::release(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (set_.erase(id) == 0)
    return;
  auto it = std::find(order_.begin(), order_.end(), id);
  if (it != order_.end())
    order_.erase(it);
}

std::size_t recent_deliveries::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return order_.size();
}

} // namespace aetherium::github
