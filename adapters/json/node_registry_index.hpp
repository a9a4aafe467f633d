#pragma once

// Internal to adapters/json: the event-log node registry's index in memory.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "events/scheduling/node.hpp"
#include "events/scheduling/node_registry.hpp"
#include "events/scheduling/node_token.hpp"

namespace aetherium {

/// The at_us of any node or token event.
template <class Event>
std::int64_t at_of(const Event& e) {
  return std::visit([](const auto& x) -> std::int64_t { return x.at_us; }, e);
}

/// Nodes by name and tokens by id, each at a stream version. An event at or below the
/// version an entry holds is one it has applied already (the registry's own write, then
/// the subscription): it is skipped, so applying twice is harmless. The subscription
/// delivers each stream's events in order, and a whole fold (put_*) only moves an entry
/// forward. Thread-safe.
class node_registry_index {
public:
  void apply_node(const node_id& id, std::int64_t stream_version, const scheduling::node_event& e);
  void put_node(const node_id& id, const scheduling::node_state& s, std::int64_t stream_version,
                std::int64_t last_at_us);
  /// `position`: where the event sits in the log; a token's first one orders the list.
  void apply_token(const node_token_id& id, std::int64_t stream_version, std::int64_t position,
                   const scheduling::node_token_event& e);
  void put_token(const scheduling::node_token_state& s, std::int64_t stream_version, std::int64_t position);

  /// Every node, by name.
  std::vector<node_record> nodes();
  /// Every token, in the order they were issued.
  std::vector<scheduling::node_token_state> tokens();

private:
  struct node_entry {
    node_record record;
    std::int64_t version = 0;
  };
  struct token_entry {
    scheduling::node_token_state state;
    std::int64_t version = 0;
    std::int64_t issued_at_position = 0;
  };

  std::mutex mtx_;
  std::map<std::string, node_entry> nodes_;
  std::map<std::string, token_entry> tokens_;
};

} // namespace aetherium
