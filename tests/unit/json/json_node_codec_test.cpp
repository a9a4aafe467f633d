// The JSON codecs of node and join token events: every event survives encode → decode,
// payloads are canonical, a schema 1 registration is upcast, bad input fails as corrupt.
#include <gtest/gtest.h>

#include "adapters/json/json_domain_codec.hpp"
#include "events/canonical_json.hpp"

namespace aetherium {
namespace {

using namespace scheduling;

const std::string cred(64, 'c');

recorded_event as_recorded(const new_event& e, const std::string& stream, std::int64_t position = 9) {
  recorded_event r;
  r.id = e.id;
  r.stream = stream_id{stream};
  r.stream_version = 1;
  r.type = e.type;
  r.schema_version = e.schema_version;
  r.payload = e.payload;
  r.metadata = e.metadata;
  r.position = position;
  return r;
}

node_registration sample_registration() {
  return {node_id{"n1"}, {8000, 16ull << 30, 32}, {"crun", "microvm"}, "10.0.0.1:4242", cred};
}

std::vector<node_event> every_node_event() {
  return {node_registered{sample_registration(), 1},
          node_heartbeat_received{2},
          node_marked_down{"heartbeat_timeout", 3},
          node_drained{4, true},
          node_removed{"decommissioned ✓", 5},
          node_undrained{6},
          node_join_refused{"bad token", "[2001:db8::1]:5000", 7}};
}

TEST(json_node_codec, every_event_round_trips_with_its_wire_name_and_schema) {
  auto codec = make_json_node_codec();
  for (auto& e : every_node_event()) {
    auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000011", {"", "node:n1", "", "", ""});
    EXPECT_EQ(stored.type, type_name(e));
    EXPECT_EQ(stored.schema_version, node_schema_version(stored.type)) << stored.type;
    EXPECT_EQ(stored.payload, *canonical_json_object(stored.payload)) << "canonical";
    EXPECT_EQ(stored.metadata.principal, "node:n1");
    auto back = codec->decode(as_recorded(stored, "node-n1"));
    ASSERT_TRUE(back) << back.err().detail;
    ASSERT_EQ(back->index(), e.index()) << stored.type;
    EXPECT_EQ(codec->encode(*back, "00000000-0000-4000-8000-000000000011", {}).payload, stored.payload)
      << "decoding lost a field of " << stored.type;
  }
}

TEST(json_node_codec, a_registration_keeps_every_field) {
  auto codec = make_json_node_codec();
  auto stored = codec->encode(node_registered{sample_registration(), 42}, "00000000-0000-4000-8000-000000000012", {});
  EXPECT_EQ(stored.schema_version, 2);
  auto back = codec->decode(as_recorded(stored, "node-n1"));
  ASSERT_TRUE(back) << back.err().detail;
  auto& r = std::get<node_registered>(*back);
  EXPECT_EQ(r.node.id.str(), "n1");
  EXPECT_EQ(r.node.capacity, (node_capacity{8000, 16ull << 30, 32}));
  EXPECT_EQ(r.node.runtimes, (std::vector<std::string>{"crun", "microvm"}));
  EXPECT_EQ(r.node.address, "10.0.0.1:4242");
  EXPECT_EQ(r.node.credential_sha256, cred);
  EXPECT_EQ(r.at_us, 42);
  auto refused = codec->decode(as_recorded(codec->encode(every_node_event()[6], "00000000-0000-4000-8000-000000000013", {}), "node-n1"));
  ASSERT_TRUE(refused) << refused.err().detail;
  EXPECT_EQ(std::get<node_join_refused>(*refused).reason, "bad token");
  EXPECT_EQ(std::get<node_join_refused>(*refused).address, "[2001:db8::1]:5000");
  EXPECT_EQ(std::get<node_join_refused>(*refused).at_us, 7);
}

TEST(json_node_codec, an_operators_drain_keeps_held_and_a_schema_1_drain_reads_as_not_held) {
  auto codec = make_json_node_codec();
  for (bool held : {true, false}) {
    auto stored = codec->encode(node_drained{9, held}, "00000000-0000-4000-8000-000000000014", {});
    EXPECT_EQ(stored.schema_version, 2);
    auto back = codec->decode(as_recorded(stored, "node-n1"));
    ASSERT_TRUE(back) << back.err().detail;
    EXPECT_EQ(std::get<node_drained>(*back).held, held);
    EXPECT_EQ(std::get<node_drained>(*back).at_us, 9);
  }
  recorded_event r;
  r.stream = stream_id{"node-n1"};
  r.type = "node.drained";
  r.schema_version = 1;
  r.payload = R"({"at_us": 3})";
  auto old = codec->decode(r);
  ASSERT_TRUE(old) << old.err().detail;
  EXPECT_FALSE(std::get<node_drained>(*old).held);
}

TEST(json_node_codec, a_schema_1_registration_reads_as_one_without_a_credential) {
  recorded_event r;
  r.stream = stream_id{"node-local"};
  r.type = "node.registered";
  r.schema_version = 1;
  r.payload = R"({"at_us": 3, "node": {"address": "", "capacity": {"cpu_millis": 4000, "memory_bytes": 1024,)"
              R"( "sandbox_slots": 2}, "id": "local", "runtimes": ["crun"]}})";
  auto back = make_json_node_codec()->decode(r);
  ASSERT_TRUE(back) << back.err().detail;
  auto& e = std::get<node_registered>(*back);
  EXPECT_EQ(e.node.id.str(), "local");
  EXPECT_TRUE(e.node.credential_sha256.empty());
  EXPECT_EQ(e.node.capacity.sandbox_slots, 2u);
}

TEST(json_node_codec, unknown_types_bad_payloads_and_newer_schemas_are_corrupt) {
  auto codec = make_json_node_codec();
  recorded_event r;
  r.stream = stream_id{"node-n1"};
  r.position = 77;
  r.type = "node.exploded";
  r.payload = R"({"at_us": 1})";
  EXPECT_EQ(codec->decode(r).err().code, errc::corrupt);
  EXPECT_NE(codec->decode(r).err().detail.find("position 77"), std::string::npos);
  r.type = "node.removed";
  r.payload = R"({"at_us": 1})";
  EXPECT_EQ(codec->decode(r).err().code, errc::corrupt) << "no reason";
  r.payload = R"({"at_us": "soon", "reason": "x"})";
  EXPECT_EQ(codec->decode(r).err().code, errc::corrupt);
  r.payload = R"({"at_us": 1, "reason": "x"})";
  r.schema_version = 2;
  EXPECT_EQ(codec->decode(r).err().code, errc::corrupt) << "a schema this build does not know";
}

TEST(json_node_codec, text_from_a_peer_that_is_not_utf8_is_stored_replaced) {
  auto codec = make_json_node_codec();
  node_event e = node_join_refused{"bad token", std::string{"10.0.0.\xff\xfe"}, 1};
  auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000014", {});
  EXPECT_TRUE(canonical_json_object(stored.payload).ok()) << stored.payload;
  auto back = codec->decode(as_recorded(stored, "node-n1"));
  ASSERT_TRUE(back) << back.err().detail;
  EXPECT_EQ(std::get<node_join_refused>(*back).address, "10.0.0.\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(json_node_token_codec, both_events_round_trip) {
  auto codec = make_json_node_token_codec();
  node_token_event issued = node_token_issued{node_token_id{"0123456789abcdef"}, cred, "rack 3", 900, 100};
  auto stored = codec->encode(issued, "00000000-0000-4000-8000-000000000015", {"", "cli", "", "", ""});
  EXPECT_EQ(stored.type, "node_token.issued");
  EXPECT_EQ(stored.schema_version, 1);
  EXPECT_EQ(stored.payload, *canonical_json_object(stored.payload));
  auto back = codec->decode(as_recorded(stored, "nodetoken-0123456789abcdef"));
  ASSERT_TRUE(back) << back.err().detail;
  auto& i = std::get<node_token_issued>(*back);
  EXPECT_EQ(i.token_id.str(), "0123456789abcdef");
  EXPECT_EQ(i.secret_sha256, cred);
  EXPECT_EQ(i.note, "rack 3");
  EXPECT_EQ(i.expires_at_us, 900);
  EXPECT_EQ(i.at_us, 100);

  auto revoked = codec->encode(node_token_revoked{200}, "00000000-0000-4000-8000-000000000016", {});
  EXPECT_EQ(revoked.type, "node_token.revoked");
  EXPECT_EQ(revoked.payload, R"({"at_us": 200})");
  auto r = codec->decode(as_recorded(revoked, "nodetoken-0123456789abcdef"));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(std::get<node_token_revoked>(*r).at_us, 200);

  recorded_event bad = as_recorded(stored, "nodetoken-0123456789abcdef");
  bad.payload = R"({"at_us": 1})";
  EXPECT_EQ(codec->decode(bad).err().code, errc::corrupt);
  bad.type = "node_token.lost";
  EXPECT_EQ(codec->decode(bad).err().code, errc::corrupt);
}

} // namespace
} // namespace aetherium
