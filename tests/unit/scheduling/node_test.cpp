// Given events, when a command, then events or an error: every transition of a node and
// every rejection.
#include <gtest/gtest.h>

#include "events/scheduling/node.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

node_registration reg(std::uint32_t cpu = 8000) {
  return {node_id{"n1"}, {cpu, 16ull << 30, 32}, {"crun", "runsc"}, "10.0.0.1:4242"};
}

/// Folds `commands` in order, each of which must succeed.
node_state given(const std::vector<node_command>& commands) {
  node_state s;
  for (auto& c : commands) {
    auto events = node::decide(s, c);
    EXPECT_TRUE(events.ok()) << (events.ok() ? "" : events.err().detail);
    if (!events.ok())
      break;
    for (auto& e : *events)
      s = node::evolve(s, e);
  }
  return s;
}

/// The wire name of the first event, "none", or "error:<code>".
std::string then_type(const node_state& s, const node_command& c) {
  auto events = node::decide(s, c);
  if (!events.ok())
    return std::string{"error:"} + to_string(events.err().code);
  if (events->empty())
    return "none";
  return type_name(events->front());
}

std::string then_field(const node_state& s, const node_command& c) {
  auto events = node::decide(s, c);
  return events.ok() ? "ok" : events.err().field;
}

TEST(node, registration_records_capacity_runtimes_and_address) {
  EXPECT_EQ(node::stream_of("n1").str(), "node-n1");
  EXPECT_EQ(then_type({}, register_node{reg(), 5}), "node.registered");
  auto s = given({register_node{reg(), 5}});
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.status, node_status::up);
  EXPECT_EQ(s.node.capacity.cpu_millis, 8000u);
  EXPECT_EQ(s.node.capacity.sandbox_slots, 32u);
  EXPECT_EQ(s.node.runtimes, (std::vector<std::string>{"crun", "runsc"}));
  EXPECT_EQ(s.node.address, "10.0.0.1:4242");
  EXPECT_EQ(s.registered_at_us, 5);
  EXPECT_EQ(s.last_heartbeat_us, 5) << "registration counts as a heartbeat";
}

TEST(node, an_invalid_registration_names_the_field) {
  auto with = [](auto change) {
    auto r = reg();
    change(r);
    return then_field({}, register_node{r, 1});
  };
  EXPECT_EQ(with([](node_registration& r) { r.id = node_id{}; }), "id");
  EXPECT_EQ(with([](node_registration& r) { r.id = node_id{std::string(129, 'n')}; }), "id");
  EXPECT_EQ(with([](node_registration& r) { r.capacity.cpu_millis = 0; }), "cpu_millis");
  EXPECT_EQ(with([](node_registration& r) { r.capacity.memory_bytes = 0; }), "memory_bytes");
  EXPECT_EQ(with([](node_registration& r) { r.capacity.sandbox_slots = 0; }), "sandbox_slots");
  EXPECT_EQ(with([](node_registration& r) { r.runtimes.clear(); }), "runtimes");
  EXPECT_EQ(with([](node_registration& r) { r.runtimes.push_back(""); }), "runtimes");
  EXPECT_EQ(with([](node_registration& r) { r.address = std::string(600, 'a'); }), "address");
  EXPECT_EQ(with([](node_registration& r) { r.address.clear(); }), "ok") << "the in-process node has no address";
  EXPECT_EQ(then_type({}, register_node{node_registration{}, 1}), "error:invalid_argument");
}

TEST(node, registering_again_is_a_no_op_or_a_conflict_while_live) {
  auto up = given({register_node{reg(), 1}});
  EXPECT_EQ(then_type(up, register_node{reg(), 2}), "none");
  EXPECT_EQ(then_type(up, register_node{reg(4000), 2}), "error:conflict");
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(then_type(drained, register_node{reg(), 3}), "none");
  EXPECT_EQ(then_type(drained, register_node{reg(4000), 3}), "error:conflict");
}

TEST(node, a_down_node_rejoins_by_registering_again_with_new_capacity) {
  auto down = given({register_node{reg(), 1}, mark_node_down{"heartbeat_timeout", 2}});
  EXPECT_EQ(down.status, node_status::down);
  EXPECT_EQ(down.down_reason, "heartbeat_timeout");
  EXPECT_EQ(then_type(down, register_node{reg(4000), 3}), "node.registered");
  auto back = given({register_node{reg(), 1}, mark_node_down{"x", 2}, register_node{reg(4000), 3}});
  EXPECT_EQ(back.status, node_status::up);
  EXPECT_EQ(back.node.capacity.cpu_millis, 4000u);
  EXPECT_TRUE(back.down_reason.empty());
  EXPECT_EQ(back.last_heartbeat_us, 3);
}

TEST(node, heartbeats_move_the_last_seen_time_forward_only) {
  EXPECT_EQ(then_type({}, record_heartbeat{1}), "error:not_found");
  auto up = given({register_node{reg(), 10}});
  EXPECT_EQ(then_type(up, record_heartbeat{20}), "node.heartbeat_received");
  auto s = given({register_node{reg(), 10}, record_heartbeat{20}});
  EXPECT_EQ(s.last_heartbeat_us, 20);
  EXPECT_EQ(then_type(s, record_heartbeat{15}), "none") << "a late, older beat";
  EXPECT_EQ(then_type(s, record_heartbeat{20}), "node.heartbeat_received");
}

TEST(node, a_drained_node_still_heartbeats_a_down_one_must_register_again) {
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(then_type(drained, record_heartbeat{3}), "node.heartbeat_received");
  auto s = node::evolve(drained, node_heartbeat_received{3});
  EXPECT_EQ(s.status, node_status::drained);
  auto down = given({register_node{reg(), 1}, mark_node_down{"gone", 2}});
  EXPECT_EQ(then_type(down, record_heartbeat{3}), "error:invalid_transition");
}

TEST(node, marking_down_needs_a_reason_and_is_idempotent) {
  EXPECT_EQ(then_type({}, mark_node_down{"x", 1}), "error:not_found");
  auto up = given({register_node{reg(), 1}});
  EXPECT_EQ(then_type(up, mark_node_down{"operator", 2}), "node.marked_down");
  EXPECT_EQ(then_field(up, mark_node_down{"", 2}), "reason");
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(then_type(drained, mark_node_down{"operator", 3}), "node.marked_down");
  auto down = given({register_node{reg(), 1}, mark_node_down{"first", 2}});
  EXPECT_EQ(then_type(down, mark_node_down{"second", 3}), "none");
}

TEST(node, draining_takes_an_up_node_out_of_placement) {
  EXPECT_EQ(then_type({}, drain_node{1}), "error:not_found");
  auto up = given({register_node{reg(), 1}});
  EXPECT_EQ(then_type(up, drain_node{2}), "node.drained");
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(drained.status, node_status::drained);
  EXPECT_EQ(then_type(drained, drain_node{3}), "none");
  auto down = given({register_node{reg(), 1}, mark_node_down{"x", 2}});
  EXPECT_EQ(then_type(down, drain_node{3}), "error:invalid_transition");
}

TEST(node, an_operators_drain_is_held_through_loss_and_registration_until_undrained_or_removed) {
  auto held = given({register_node{reg(), 1}, drain_node{2, true}});
  EXPECT_TRUE(held.held);
  auto back = given({register_node{reg(), 1}, drain_node{2, true}, mark_node_down{"stopped", 3}, register_node{reg(), 4}});
  EXPECT_EQ(back.status, node_status::drained) << "registering brings it back drained";
  EXPECT_TRUE(back.held);
  auto down = given({register_node{reg(), 1}, drain_node{2, true}, mark_node_down{"stopped", 3}});
  auto events = node::decide(down, register_node{reg(), 4});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_STREQ(type_name((*events)[0]), "node.registered");
  EXPECT_TRUE(std::get<node_drained>((*events)[1]).held);
  EXPECT_EQ(then_type(back, drain_node{5, true}), "none");
  EXPECT_EQ(given({register_node{reg(), 1}, drain_node{2}, mark_node_down{"stopped", 3}, register_node{reg(), 4}}).status,
            node_status::up)
    << "a node that drained itself comes back up";
  EXPECT_FALSE(given({register_node{reg(), 1}, drain_node{2, true}, undrain_node{3}}).held);
  EXPECT_FALSE(given({register_node{reg(), 1}, drain_node{2, true}, remove_node{"gone", 3}}).held);
  auto self_drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_FALSE(self_drained.held) << "a node draining itself before it stops is not held";
  EXPECT_EQ(then_type(self_drained, drain_node{3, true}), "node.drained") << "an operator's drain holds it";
  EXPECT_EQ(then_type(held, drain_node{3}), "none");
  EXPECT_EQ(then_type(held, drain_node{3, true}), "none");
  auto drained_again = given({register_node{reg(), 1}, drain_node{2}, drain_node{3, true}});
  EXPECT_TRUE(drained_again.held);
  EXPECT_EQ(drained_again.status, node_status::drained);
}

TEST(node, statuses_have_wire_names) {
  EXPECT_STREQ(to_string(node_status::up), "up");
  EXPECT_STREQ(to_string(node_status::down), "down");
  EXPECT_STREQ(to_string(node_status::drained), "drained");
  EXPECT_STREQ(to_string(node_status::removed), "removed");
  EXPECT_STREQ(type_name(node_event{node_drained{}}), "node.drained");
}

TEST(node, statuses_have_api_names) {
  EXPECT_STREQ(api_status(node_status::up), "ready");
  EXPECT_STREQ(api_status(node_status::drained), "draining");
  EXPECT_STREQ(api_status(node_status::down), "lost");
  EXPECT_STREQ(api_status(node_status::removed), "removed");
  EXPECT_TRUE(live(node_status::up));
  EXPECT_TRUE(live(node_status::drained));
  EXPECT_FALSE(live(node_status::down));
  EXPECT_FALSE(live(node_status::removed));
}

TEST(node, every_event_type_has_its_wire_name_and_schema) {
  EXPECT_STREQ(type_name(node_event{node_registered{}}), "node.registered");
  EXPECT_STREQ(type_name(node_event{node_heartbeat_received{}}), "node.heartbeat_received");
  EXPECT_STREQ(type_name(node_event{node_marked_down{}}), "node.marked_down");
  EXPECT_STREQ(type_name(node_event{node_removed{}}), "node.removed");
  EXPECT_STREQ(type_name(node_event{node_undrained{}}), "node.undrained");
  EXPECT_STREQ(type_name(node_event{node_join_refused{}}), "node.join_refused");
  EXPECT_EQ(node_schema_version("node.registered"), 2) << "schema 2 added the credential";
  EXPECT_EQ(node_schema_version("node.drained"), 2) << "schema 2 added held";
  EXPECT_EQ(node_schema_version("node.join_refused"), 1);
  EXPECT_EQ(node_schema_version("task.requested"), 0);
}

const std::string cred_a(64, 'a');
const std::string cred_b(64, 'b');

node_registration with_credential(const std::string& credential) {
  auto r = reg();
  r.credential_sha256 = credential;
  return r;
}

TEST(node, the_credential_is_part_of_the_registration) {
  auto s = given({register_node{with_credential(cred_a), 1}});
  EXPECT_EQ(s.node.credential_sha256, cred_a);
  EXPECT_EQ(then_type(s, register_node{with_credential(cred_a), 2}), "none");
  EXPECT_EQ(then_type(s, register_node{with_credential(cred_b), 2}), "error:conflict")
    << "a live node's name claimed with another credential";
  EXPECT_EQ(then_type(s, register_node{with_credential(""), 2}), "error:conflict");
  EXPECT_EQ(then_field({}, register_node{with_credential("ABC"), 1}), "credential_sha256");
  EXPECT_EQ(then_field({}, register_node{with_credential(std::string(64, 'A')), 1}), "credential_sha256");
  EXPECT_EQ(then_field({}, register_node{with_credential(std::string(64, 'g')), 1}), "credential_sha256");
  EXPECT_EQ(then_field({}, register_node{with_credential(""), 1}), "ok") << "the local node has none";
}

TEST(node, a_lost_or_removed_node_rejoins_with_a_new_credential) {
  auto down = given({register_node{with_credential(cred_a), 1}, mark_node_down{"heartbeat_timeout", 2}});
  EXPECT_EQ(then_type(down, register_node{with_credential(cred_b), 3}), "node.registered");
  auto removed = given({register_node{with_credential(cred_a), 1}, remove_node{"decommissioned", 2}});
  EXPECT_EQ(then_type(removed, register_node{with_credential(cred_b), 3}), "node.registered");
  auto back = node::evolve(removed, node_registered{with_credential(cred_b), 3});
  EXPECT_EQ(back.status, node_status::up);
  EXPECT_EQ(back.node.credential_sha256, cred_b);
  EXPECT_TRUE(back.down_reason.empty());
  EXPECT_EQ(back.registered_at_us, 3);
}

TEST(node, removing_needs_a_reason_works_from_any_status_and_is_idempotent) {
  EXPECT_EQ(then_type({}, remove_node{"x", 1}), "error:not_found");
  auto up = given({register_node{reg(), 1}});
  EXPECT_EQ(then_type(up, remove_node{"decommissioned", 2}), "node.removed");
  EXPECT_EQ(then_field(up, remove_node{"", 2}), "reason");
  EXPECT_EQ(then_field(up, remove_node{std::string(513, 'r'), 2}), "reason");
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(then_type(drained, remove_node{"x", 3}), "node.removed");
  auto down = given({register_node{reg(), 1}, mark_node_down{"gone", 2}});
  EXPECT_EQ(then_type(down, remove_node{"x", 3}), "node.removed");
  auto removed = given({register_node{reg(), 1}, remove_node{"decommissioned", 2}});
  EXPECT_EQ(removed.status, node_status::removed);
  EXPECT_EQ(removed.down_reason, "decommissioned");
  EXPECT_EQ(then_type(removed, remove_node{"again", 3}), "none");
}

TEST(node, a_removed_node_takes_nothing_until_it_registers_again) {
  auto removed = given({register_node{reg(), 1}, remove_node{"decommissioned", 2}});
  EXPECT_EQ(then_type(removed, record_heartbeat{3}), "error:invalid_transition");
  EXPECT_EQ(then_type(removed, drain_node{3}), "error:invalid_transition");
  EXPECT_EQ(then_type(removed, undrain_node{3}), "error:invalid_transition");
  EXPECT_EQ(then_type(removed, mark_node_down{"x", 3}), "error:invalid_transition");
  EXPECT_EQ(then_type(removed, register_node{reg(), 3}), "node.registered") << "even the same registration";
}

TEST(node, undraining_puts_a_drained_node_back_into_placement) {
  EXPECT_EQ(then_type({}, undrain_node{1}), "error:not_found");
  auto drained = given({register_node{reg(), 1}, drain_node{2}});
  EXPECT_EQ(then_type(drained, undrain_node{3}), "node.undrained");
  auto up = given({register_node{reg(), 1}, drain_node{2}, undrain_node{3}});
  EXPECT_EQ(up.status, node_status::up);
  EXPECT_EQ(then_type(up, undrain_node{4}), "none");
  EXPECT_EQ(then_type(up, drain_node{4}), "node.drained");
  auto down = given({register_node{reg(), 1}, drain_node{2}, mark_node_down{"x", 3}});
  EXPECT_EQ(then_type(down, undrain_node{4}), "error:invalid_transition");
}

TEST(node, a_refused_join_is_recorded_for_any_name_and_changes_only_the_count) {
  EXPECT_EQ(then_type({}, refuse_join{"bad token", "10.0.0.9:5000", 1}), "node.join_refused")
    << "a name that never registered";
  auto stranger = given({refuse_join{"bad token", "10.0.0.9:5000", 1}, refuse_join{"bad token", "", 2}});
  EXPECT_FALSE(stranger.exists);
  EXPECT_EQ(stranger.refusals, 2u);
  EXPECT_EQ(stranger.last_refusal_us, 2);
  EXPECT_EQ(then_type(stranger, record_heartbeat{3}), "error:not_found");
  EXPECT_EQ(then_type(stranger, register_node{reg(), 3}), "node.registered");
  auto up = given({register_node{reg(), 1}, drain_node{2}, refuse_join{"bad credential", "10.0.0.9:1", 3}});
  EXPECT_EQ(up.status, node_status::drained);
  EXPECT_EQ(up.refusals, 1u);
  EXPECT_EQ(up.last_heartbeat_us, 1);
  EXPECT_EQ(up.node.address, "10.0.0.1:4242") << "the refused address is not the node's";
  EXPECT_EQ(then_field({}, refuse_join{"", "a", 1}), "reason");
  EXPECT_EQ(then_field({}, refuse_join{"x", std::string(513, 'a'), 1}), "address");
  auto removed = given({register_node{reg(), 1}, remove_node{"x", 2}});
  EXPECT_EQ(then_type(removed, refuse_join{"removed", "", 3}), "node.join_refused");
}

} // namespace
