// What the event-log node registry writes to the log and how it reads what it finds there.
#include <gtest/gtest.h>

#include "adapters/json/event_log_node_registry.hpp"
#include "events/canonical_json.hpp"
#include "events/sha256.hpp"
#include "tests/support/lagging_subscriptions.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

class event_log_node_registry_test : public ::testing::Test {
protected:
  std::shared_ptr<node_registry> open(std::string principal = "cli") {
    return make_event_log_node_registry(log_, clock_, ids_, std::move(principal));
  }

  /// Appends one event by hand, as another writer (or an older version) would have.
  void append(const std::string& stream, const std::string& type, const std::string& payload, int schema = 1) {
    new_event e{event_id{ids_->next_uuid()}, type, schema, payload, {"", "test", "", "", ""}};
    auto r = log_->append({stream_id{stream}, expected_version::any(), {std::move(e)}});
    ASSERT_TRUE(r.ok()) << r.err().detail;
  }

  static std::string canonical(const std::string& text) { return *canonical_json_object(text); }

  std::vector<recorded_event> stream(const std::string& name) {
    auto events = log_->read_stream(stream_id{name});
    EXPECT_TRUE(events.ok());
    return events.ok() ? *events : std::vector<recorded_event>{};
  }

  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<event_store> log_ = make_memory_event_store(clock_);
};

TEST_F(event_log_node_registry_test, a_token_is_one_issued_event_holding_the_hash_never_the_secret) {
  auto t = open()->issue_token("rack 3", 60);
  ASSERT_TRUE(t.ok()) << t.err().detail;
  auto secret = t->text.substr(5 + 16 + 1);
  EXPECT_GE(secret.size(), 43u);
  auto events = stream("nodetoken-" + t->id);
  ASSERT_EQ(events.size(), 1u);
  auto& e = events[0];
  EXPECT_EQ(e.type, "node_token.issued");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.metadata.principal, "cli");
  EXPECT_EQ(e.payload, canonical(R"({"at_us": )" + std::to_string(clock_->now_us()) + R"(, "expires_at_us": )"
                                 + std::to_string(clock_->now_us() + 60'000'000)
                                 + R"(, "note": "rack 3", "secret_sha256": ")" + sha256_hex(secret)
                                 + R"(", "token_id": ")" + t->id + R"("})"));
  EXPECT_EQ(e.payload.find(secret), std::string::npos);
  auto all = log_->read_all(0, 100);
  for (auto& any : *all)
    EXPECT_EQ(any.payload.find(secret), std::string::npos);
}

TEST_F(event_log_node_registry_test, revoking_appends_one_revoked_event_once) {
  auto nodes = open();
  auto t = nodes->issue_token("", 0);
  ASSERT_TRUE(t.ok());
  clock_->advance(5);
  ASSERT_TRUE(nodes->revoke_token(t->id).ok());
  ASSERT_TRUE(nodes->revoke_token(t->id).ok());
  auto events = stream("nodetoken-" + t->id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "node_token.revoked");
  EXPECT_EQ(events[1].payload, R"({"at_us": )" + std::to_string(clock_->now_us()) + "}");
}

TEST_F(event_log_node_registry_test, node_events_go_to_the_nodes_stream_with_the_registrys_principal) {
  auto nodes = open("control-plane");
  node_registration r{node_id{"worker-1"}, {4000, 1024, 2}, {"crun"}, "10.0.0.7:4242", std::string(64, 'c')};
  ASSERT_TRUE(nodes->record(node_id{"worker-1"}, register_node{r, 1}).ok());
  ASSERT_TRUE(nodes->record(node_id{"worker-1"}, refuse_join{"wrong credential", "203.0.113.9:1", 2}).ok());
  ASSERT_TRUE(nodes->record(node_id{"worker-1"}, remove_node{"decommissioned", 3}).ok());
  auto events = stream("node-worker-1");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "node.registered");
  EXPECT_EQ(events[0].schema_version, 2);
  EXPECT_NE(events[0].payload.find(R"("credential_sha256": ")" + std::string(64, 'c')), std::string::npos);
  EXPECT_EQ(events[1].type, "node.join_refused");
  EXPECT_EQ(events[1].payload, canonical(R"({"address": "203.0.113.9:1", "at_us": 2, "reason": "wrong credential"})"));
  EXPECT_EQ(events[2].type, "node.removed");
  for (auto& e : events) {
    EXPECT_EQ(e.metadata.principal, "control-plane");
    EXPECT_EQ(e.metadata.tenant, "") << "nodes belong to no tenant";
  }
}

TEST_F(event_log_node_registry_test, events_of_other_writers_are_read_and_unreadable_ones_skipped) {
  append("node-old", "node.registered",
         R"({"at_us": 3, "node": {"address": "", "capacity": {"cpu_millis": 1000, "memory_bytes": 1024,)"
         R"( "sandbox_slots": 1}, "id": "old", "runtimes": ["crun"]}})");
  append("node-broken", "node.registered", R"({"at_us": 3})");
  append("node-future", "node.removed", R"({"at_us": 3, "reason": "x"})", 7);
  append("nodetoken-0123456789abcdef", "node_token.issued", R"({"at_us": 1})");
  append("node", "node.removed", R"({"at_us": 3, "reason": "x"})");
  auto nodes = open();
  auto listed = nodes->list();
  ASSERT_EQ(listed.size(), 1u) << "a schema 1 registration is read; broken ones are skipped";
  EXPECT_EQ(listed[0].id.str(), "old");
  EXPECT_TRUE(listed[0].state.node.credential_sha256.empty());
  EXPECT_TRUE(nodes->list_tokens()->empty());
  auto corrupt = nodes->record(node_id{"broken"}, record_heartbeat{4});
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.err().code, errc::corrupt);
}

TEST_F(event_log_node_registry_test, checks_see_another_processs_writes_before_the_subscription_brings_them) {
  auto server_side = make_event_log_node_registry(std::make_shared<aetherium::testing::lagging_subscriptions>(log_), clock_, ids_);
  auto cli_side = open();
  auto t = cli_side->issue_token("", 0);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(server_side->check_token(t->text).ok());
  ASSERT_TRUE(cli_side->revoke_token(t->id).ok());
  EXPECT_EQ(server_side->check_token(t->text).err().code, errc::unauthorized);
  node_registration r{node_id{"worker-1"}, {4000, 1024, 2}, {"crun"}, "", sha256_hex("pw")};
  ASSERT_TRUE(cli_side->record(node_id{"worker-1"}, register_node{r, 1}).ok());
  EXPECT_TRUE(server_side->check_credential(node_id{"worker-1"}, "pw").ok());
  auto decided = server_side->record(node_id{"worker-1"}, drain_node{2});
  ASSERT_TRUE(decided.ok()) << decided.err().detail;
  EXPECT_EQ(decided->status, node_status::drained) << "decided on the stream as the log holds it";
}

} // namespace
