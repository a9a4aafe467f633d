#include "events/scheduling/node.hpp"
#include "events/overloaded.hpp"
#include "events/sha256.hpp"

#include <tuple>

namespace aetherium::scheduling {

namespace {

using events = std::vector<node_event>;

constexpr std::size_t max_reason_bytes = 512;
constexpr std::size_t max_address_bytes = 512;

error transition(const node_state& s, const char* what) {
  return make_error(errc::invalid_transition, std::string{"cannot "} + what + " node " + s.node.id.str()
                                                + " while it is " + to_string(s.status));
}

/// The credential counts: a live node's name claimed with another credential is someone
/// else's, not the same node announcing itself again.
bool same(const node_registration& a, const node_registration& b) {
  return a.id == b.id && a.capacity == b.capacity && a.runtimes == b.runtimes && a.address == b.address
         && a.credential_sha256 == b.credential_sha256;
}

result<events> decide_register(const node_state& s, const register_node& c) {
  if (auto ok = validate_registration(c.node); !ok)
    return ok.err();
  if (s.exists && live(s.status)) {
    if (same(s.node, c.node))
      return events{}; // the same node announcing itself again
    return make_error(errc::conflict, "node " + c.node.id.str() + " is registered with other capacity or credential");
  }
  if (s.held) // an operator's drain outlasts the node's restart and the control plane's
    return events{node_registered{c.node, c.now_us}, node_drained{c.now_us, true}};
  return events{node_registered{c.node, c.now_us}};
}

result<events> decide_heartbeat(const node_state& s, const record_heartbeat& c) {
  if (!live(s.status))
    return transition(s, "take a heartbeat from");
  if (c.now_us < s.last_heartbeat_us)
    return events{}; // late delivery of an older beat
  return events{node_heartbeat_received{c.now_us}};
}

result<events> decide_down(const node_state& s, const mark_node_down& c) {
  if (s.status == node_status::down)
    return events{};
  if (s.status == node_status::removed)
    return transition(s, "mark down");
  if (c.reason.empty())
    return make_error(errc::invalid_argument, "a reason is required to mark a node down", "reason");
  return events{node_marked_down{c.reason, c.now_us}};
}

result<events> decide_drain(const node_state& s, const drain_node& c) {
  if (s.status == node_status::drained && (s.held || !c.held))
    return events{};
  if (!live(s.status))
    return transition(s, "drain");
  return events{node_drained{c.now_us, c.held}};
}

result<events> decide_undrain(const node_state& s, const undrain_node& c) {
  if (s.status == node_status::up)
    return events{};
  if (s.status != node_status::drained)
    return transition(s, "undrain");
  return events{node_undrained{c.now_us}};
}

result<events> decide_remove(const node_state& s, const remove_node& c) {
  if (s.status == node_status::removed)
    return events{};
  if (c.reason.empty() || c.reason.size() > max_reason_bytes)
    return make_error(errc::invalid_argument, "a reason of 1 to 512 bytes is required to remove a node", "reason");
  return events{node_removed{c.reason, c.now_us}};
}

/// Recorded whatever the state: the stream of a name that never joined holds its refusals.
result<events> decide_refuse(const refuse_join& c) {
  if (c.reason.empty() || c.reason.size() > max_reason_bytes)
    return make_error(errc::invalid_argument, "a refusal needs a reason of 1 to 512 bytes", "reason");
  if (c.address.size() > max_address_bytes)
    return make_error(errc::invalid_argument, "address is longer than 512 bytes", "address");
  return events{node_join_refused{c.reason, c.address, c.now_us}};
}

} // namespace

const char* to_string(node_status s) noexcept {
  switch (s) {
    case node_status::up: return "up";
    case node_status::down: return "down";
    case node_status::drained: return "drained";
    case node_status::removed: return "removed";
  }
  return "down";
}

const char* api_status(node_status s) noexcept {
  switch (s) {
    case node_status::up: return "ready";
    case node_status::down: return "lost";
    case node_status::drained: return "draining";
    case node_status::removed: return "removed";
  }
  return "lost";
}

result<void> validate_registration(const node_registration& r) {
  auto bad = [](const char* field, std::string why) { return make_error(errc::invalid_argument, std::move(why), field); };
  if (r.id.empty() || r.id.str().size() > 128)
    return bad("id", "node id must hold 1 to 128 bytes");
  if (r.capacity.cpu_millis == 0)
    return bad("cpu_millis", "a node needs some cpu");
  if (r.capacity.memory_bytes == 0)
    return bad("memory_bytes", "a node needs some memory");
  if (r.capacity.sandbox_slots == 0)
    return bad("sandbox_slots", "a node needs at least one sandbox slot");
  if (r.runtimes.empty())
    return bad("runtimes", "a node needs at least one runtime");
  for (auto& rt : r.runtimes)
    if (rt.empty() || rt.size() > 64)
      return bad("runtimes", "a runtime name must hold 1 to 64 bytes");
  if (r.address.size() > max_address_bytes)
    return bad("address", "address is longer than 512 bytes");
  if (!r.credential_sha256.empty() && !is_sha256_hex(r.credential_sha256))
    return bad("credential_sha256", "the credential hash must be 64 lowercase hex digits or empty");
  return {};
}

const char* type_name(const node_event& e) noexcept {
  return std::visit([](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; }, e);
}

int node_schema_version(const std::string& type) noexcept {
  int version = 0;
  auto match = [&](auto tag) {
    using E = decltype(tag);
    if (type == E::type_name)
      version = E::schema_version;
  };
  std::apply([&](auto... tags) { (match(tags), ...); }, std::tuple<node_registered, node_heartbeat_received,
                                                                   node_marked_down, node_drained, node_removed,
                                                                   node_undrained, node_join_refused>{});
  return version;
}

result<std::vector<node_event>> node::decide(const state& s, const command& c) {
  if (!s.exists && !std::holds_alternative<register_node>(c) && !std::holds_alternative<refuse_join>(c))
    return make_error(errc::not_found, "no such node");
  return std::visit(overloaded{
                      [&](const register_node& x) { return decide_register(s, x); },
                      [&](const record_heartbeat& x) { return decide_heartbeat(s, x); },
                      [&](const mark_node_down& x) { return decide_down(s, x); },
                      [&](const drain_node& x) { return decide_drain(s, x); },
                      [&](const undrain_node& x) { return decide_undrain(s, x); },
                      [&](const remove_node& x) { return decide_remove(s, x); },
                      [&](const refuse_join& x) { return decide_refuse(x); },
                    },
                    c);
}

node_state node::evolve(state s, const event& e) {
  std::visit(overloaded{
               [&](const node_registered& x) {
                 s.exists = true;
                 s.node = x.node;
                 s.status = node_status::up;
                 s.down_reason.clear();
                 s.registered_at_us = x.at_us;
                 s.last_heartbeat_us = x.at_us;
               },
               [&](const node_heartbeat_received& x) { s.last_heartbeat_us = x.at_us; },
               [&](const node_marked_down& x) {
                 s.status = node_status::down;
                 s.down_reason = x.reason;
               },
               [&](const node_drained& x) {
                 s.status = node_status::drained;
                 s.held = s.held || x.held;
               },
               [&](const node_undrained&) {
                 s.status = node_status::up;
                 s.held = false;
               },
               [&](const node_removed& x) {
                 s.status = node_status::removed;
                 s.held = false;
                 s.down_reason = x.reason;
               },
               [&](const node_join_refused& x) {
                 ++s.refusals;
                 s.last_refusal_us = x.at_us;
               },
             },
             e);
  return s;
}

} // namespace aetherium::scheduling
