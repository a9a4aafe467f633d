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
  /// Hex SHA-256 of the credential the node proves itself with after it joined; empty for
  /// the embedded local node, which has none.
  std::string credential_sha256;
};

/// Whether a node takes new sandboxes.
enum class node_status {
  up,      ///< Heartbeating and taking new sandboxes.
  down,    ///< Silent or marked down: takes nothing; must register again to come back.
  drained, ///< Alive, keeps what it runs, takes nothing new.
  removed, ///< Taken out by an operator: takes nothing; may register again as a new node.
};

/// Wire name: "up", "down", "drained" or "removed".
const char* to_string(node_status s) noexcept;

/// The name the API shows: "ready" (up), "draining" (drained), "lost" (down), "removed".
const char* api_status(node_status s) noexcept;

/// True for up and drained: the node is there and heartbeats; down and removed nodes take
/// nothing and must register again.
inline bool live(node_status s) noexcept { return s == node_status::up || s == node_status::drained; }

// Events of a node stream ("node-<id>"), past tense, each with its wire name.

/// Schema 2 added `node.credential_sha256` (schema 1 reads as an empty one).
struct node_registered {
  static constexpr const char* type_name = "node.registered";
  static constexpr int schema_version = 2;
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
/// Schema 2 added `held` (schema 1 reads as false).
struct node_drained {
  static constexpr const char* type_name = "node.drained";
  static constexpr int schema_version = 2;
  std::int64_t at_us = 0;
  /// An operator's drain: it outlasts the node's restarts and the control plane's until
  /// undrained or removed. False for a node draining itself before it stops.
  bool held = false;
};

/// An operator took the node out for good; it may join again later as a new registration.
struct node_removed {
  static constexpr const char* type_name = "node.removed";
  static constexpr int schema_version = 1;
  std::string reason;
  std::int64_t at_us = 0;
};
/// A drained node takes new sandboxes again.
struct node_undrained {
  static constexpr const char* type_name = "node.undrained";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};
/// A process asked to join under this node's name and was turned away (bad token, bad
/// credential, ...). Recorded even for a name that never registered; changes nothing but
/// the count of refusals.
struct node_join_refused {
  static constexpr const char* type_name = "node.join_refused";
  static constexpr int schema_version = 1;
  std::string reason;
  std::string address; ///< Where the attempt came from, as the transport saw it.
  std::int64_t at_us = 0;
};

using node_event = std::variant<node_registered, node_heartbeat_received, node_marked_down, node_drained,
                                node_removed, node_undrained, node_join_refused>;

/// The wire name of any node event.
const char* type_name(const node_event& e) noexcept;
/// The current schema version of a node event type; 0 for a type that is not one.
int node_schema_version(const std::string& type) noexcept;

// Commands, imperative, each carrying the time it is decided at.

struct register_node { node_registration node; std::int64_t now_us = 0; };
struct record_heartbeat { std::int64_t now_us = 0; };
struct mark_node_down { std::string reason; std::int64_t now_us = 0; };
struct drain_node { std::int64_t now_us = 0; bool held = false; };
struct remove_node { std::string reason; std::int64_t now_us = 0; };
struct undrain_node { std::int64_t now_us = 0; };
struct refuse_join { std::string reason; std::string address; std::int64_t now_us = 0; };

using node_command =
  std::variant<register_node, record_heartbeat, mark_node_down, drain_node, remove_node, undrain_node, refuse_join>;

/// A node as its events made it.
struct node_state {
  bool exists = false;
  node_registration node;
  node_status status = node_status::up;
  std::string down_reason; ///< Why it is down or removed.
  /// An operator drained it: it is drained again whenever it registers, until undrained or removed.
  bool held = false;
  std::int64_t registered_at_us = 0;
  std::int64_t last_heartbeat_us = 0; ///< Registration counts as the first heartbeat.
  std::uint64_t refusals = 0;         ///< Joins refused under this name, ever.
  std::int64_t last_refusal_us = 0;
};

/// The node aggregate: pure decide and evolve.
struct node {
  using state = node_state;
  using command = node_command;
  using event = node_event;

  /// "node-<id>".
  static stream_id stream_of(const std::string& id) { return stream_id{"node-" + id}; }

  /// Transitions:
  /// - register: a new node, or a down or removed node rejoining (with possibly new
  ///   capacity and a new credential), drained again at once when an operator's drain holds
  ///   it; the same registration again (credential included) is a no-op; a different one
  ///   for a live node is a conflict.
  /// - heartbeat: up or drained nodes; an older heartbeat than the last is a no-op; a down
  ///   or removed node must register again (invalid_transition).
  /// - mark down: any live node; already down is a no-op; removed is invalid_transition.
  /// - drain: an up node; already drained is a no-op, unless an operator's drain (held)
  ///   finds the node draining itself; down or removed is invalid_transition.
  /// - undrain: a drained node; already up is a no-op; down or removed is invalid_transition.
  /// - remove: any node that ever registered, with a reason; already removed is a no-op.
  /// - refuse join: always recorded, for any name (even one that never registered), with
  ///   a reason; the status does not change.
  /// Errors: not_found (no such node), conflict, invalid_argument (naming the field),
  /// invalid_transition.
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// Checks a registration the way register_node does. Errors: invalid_argument with the field.
result<void> validate_registration(const node_registration& r);

} // namespace aetherium::scheduling
