#pragma once

#include <functional>
#include <string>
#include <utility>

namespace aetherium {

/// A strongly typed identifier: ids of different kinds never mix by accident.
template <class Tag>
class strong_id {
public:
  strong_id() = default;
  explicit strong_id(std::string value) : value_(std::move(value)) {}

  const std::string& str() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const strong_id& a, const strong_id& b) { return a.value_ == b.value_; }
  friend bool operator!=(const strong_id& a, const strong_id& b) { return a.value_ != b.value_; }
  friend bool operator<(const strong_id& a, const strong_id& b) { return a.value_ < b.value_; }

private:
  std::string value_;
};

using stream_id = strong_id<struct stream_id_tag>;
using event_id = strong_id<struct event_id_tag>;
using tenant_id = strong_id<struct tenant_id_tag>;
using project_id = strong_id<struct project_id_tag>;
using task_id = strong_id<struct task_id_tag>;
using node_id = strong_id<struct node_id_tag>;
using apikey_id = strong_id<struct apikey_id_tag>;
using node_token_id = strong_id<struct node_token_id_tag>;

} // namespace aetherium

namespace std {
template <class Tag>
struct hash<aetherium::strong_id<Tag>> {
  size_t operator()(const aetherium::strong_id<Tag>& id) const noexcept {
    return hash<string>{}(id.str());
  }
};
} // namespace std
