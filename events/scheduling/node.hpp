#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::scheduling {

/// What a node offers to sandboxes in total.
struct node_capacity {
  std::uint32_t cpu_millis = 0;   ///< Millicores.
  std::uint64_t memory_bytes = 0;
  std::uint32_t sandbox_slots = 0; ///< How many sandboxes may run at once.

  friend bool operator==(const node_capacity& a, const node_capacity& b) {
    return a.cpu_millis == b.cpu_millis && a.memory_bytes == b.memory_bytes && a.sandbox_slots == b.sandbox_slots;
  }
  friend bool operator!=(const node_capacity& a, const node_capacity& b) { return !(a == b); }
};

/// What a node announces when it joins.
struct node_registration {
  node_id id;
  node_capacity capacity;
  std::vector<std::string> runtimes; ///< e.g. crun, runc, runsc, microvm.
  std::string address;               ///< Where to reach it; empty for the in-process node.
};

/// Whether a node takes new sandboxes.
enum class node_status {
  up,      ///< Heartbeating and taking new sandboxes.
  down,    ///< Silent or marked down: takes nothing; must register again to come back.
  drained, ///< Alive, keeps what it runs, takes nothing new.
};

/// Wire name: "up", "down" or "drained".
const char* to_string(node_status s) noexcept;

// Events of a node stream ("node-<id>"), past tense, each with its wire name.

struct node_registered {
  static constexpr const char* type_name = "node.registered";
  static constexpr int schema_version = 1;
  node_registration node;
  std::int64_t at_us = 0;
};
struct node_heartbeat_received {
  static constexpr const char* type_name = "node.heartbeat_received";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};
struct node_marked_down {
  static constexpr const char* type_name = "node.marked_down";
  static constexpr int schema_version = 1;
  std::string reason;
  std::int64_t at_us = 0;
};
struct node_drained {
  static constexpr const char* type_name = "node.drained";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};

using node_event = std::variant<node_registered, node_heartbeat_received, node_marked_down, node_drained>;

/// The wire name of any node event.
const char* type_name(const node_event& e) noexcept;

// Commands, imperative, each carrying the time it is decided at.

struct register_node { node_registration node; std::int64_t now_us = 0; };
struct record_heartbeat { std::int64_t now_us = 0; };
struct mark_node_down { std::string reason; std::int64_t now_us = 0; };
struct drain_node { std::int64_t now_us = 0; };

using node_command = std::variant<register_node, record_heartbeat, mark_node_down, drain_node>;

/// A node as its events made it.
struct node_state {
  bool exists = false;
  node_registration node;
  node_status status = node_status::up;
  std::string down_reason;
  std::int64_t registered_at_us = 0;
  std::int64_t last_heartbeat_us = 0; ///< Registration counts as the first heartbeat.
};

/// The node aggregate: pure decide and evolve.
struct node {
  using state = node_state;
  using command = node_command;
  using event = node_event;

  /// "node-<id>".
  static stream_id stream_of(const std::string& id) { return stream_id{"node-" + id}; }

  /// Transitions:
  /// - register: a new node, or a down node rejoining (with possibly new capacity); the
  ///   same registration again is a no-op; a different one for a live node is a conflict.
  /// - heartbeat: up or drained nodes; an older heartbeat than the last is a no-op; a down
  ///   node must register again (invalid_transition).
  /// - mark down: any live node; already down is a no-op.
  /// - drain: an up node; already drained is a no-op; a down node is invalid_transition.
  /// Errors: not_found (no such node), conflict, invalid_argument (naming the field),
  /// invalid_transition.
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// Checks a registration the way register_node does. Errors: invalid_argument with the field.
result<void> validate_registration(const node_registration& r);

} // namespace aetherium::scheduling
