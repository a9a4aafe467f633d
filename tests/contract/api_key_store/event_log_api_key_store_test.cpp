// What the event-log store writes to the log and how it reads what it finds there.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "adapters/json/event_log_api_key_store.hpp"
#include "events/canonical_json.hpp"
#include "tests/support/lagging_subscriptions.hpp"

using namespace aetherium;

namespace {

constexpr const char* hash_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr const char* hash_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr const char* key_id = "0b6f0c52-5a4f-4b7e-9d7e-3c1f8e0a1b2c";

class event_log_api_key_store_test : public ::testing::Test {
protected:
  std::shared_ptr<api::api_key_store> open() { return make_event_log_api_key_store(log_, clock_, ids_); }

  /// Appends one event by hand, as another writer (or an older version) would have.
  void append(const std::string& stream, const std::string& type, const std::string& payload, int schema = 1) {
    new_event e{event_id{ids_->next_uuid()}, type, schema, payload, {"acme", "test", "", "", ""}};
    auto r = log_->append({stream_id{stream}, expected_version::any(), {std::move(e)}});
    ASSERT_TRUE(r.ok()) << r.err().detail;
  }

  static std::string created_payload(const std::string& id, const std::string& hash,
                                     const std::string& role = "operator") {
    return R"({"id": ")" + id + R"(", "tenant": "acme", "role": ")" + role + R"(", "name": "bot", "secret_hash": ")"
           + hash + R"(", "created_at_us": 42})";
  }

  static std::string canonical(const std::string& text) { return *canonical_json_object(text); }

  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<event_store> log_ = make_memory_event_store(clock_);
};

TEST_F(event_log_api_key_store_test, add_writes_one_created_event_on_the_keys_own_stream) {
  auto keys = open();
  api::api_key_record k{apikey_id{key_id}, tenant_id{"acme"}, api::role::operator_, "bot", hash_a, 42, false};
  ASSERT_TRUE(keys->add(k).ok());
  auto events = log_->read_stream(stream_id{std::string{"apikey-"} + key_id});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto& e = (*events)[0];
  EXPECT_EQ(e.type, "apikey.created");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.payload, canonical(created_payload(key_id, hash_a)));
  EXPECT_EQ(e.metadata.tenant, "acme");
  EXPECT_EQ(e.metadata.principal, "cli");
  EXPECT_EQ(*log_->head_position(), 1);
}

TEST_F(event_log_api_key_store_test, revoke_writes_a_revoked_event_with_the_time_once) {
  auto keys = open();
  api::api_key_record k{apikey_id{key_id}, tenant_id{"acme"}, api::role::viewer, "", hash_a, 42, false};
  ASSERT_TRUE(keys->add(k).ok());
  clock_->advance(5);
  ASSERT_TRUE(keys->revoke(tenant_id{"acme"}, k.id).ok());
  ASSERT_TRUE(keys->revoke(tenant_id{"acme"}, k.id).ok());
  auto events = log_->read_stream(stream_id{std::string{"apikey-"} + key_id});
  ASSERT_EQ(events->size(), 2u);
  auto& e = (*events)[1];
  EXPECT_EQ(e.type, "apikey.revoked");
  EXPECT_EQ(e.schema_version, 1);
  EXPECT_EQ(e.payload, R"({"at_us": )" + std::to_string(clock_->now_us()) + "}");
  EXPECT_EQ(e.metadata.tenant, "acme");
}

TEST_F(event_log_api_key_store_test, keys_written_by_another_writer_are_read_from_the_log) {
  append(std::string{"apikey-"} + key_id, "apikey.created", created_payload(key_id, hash_a));
  append(std::string{"apikey-"} + key_id, "apikey.revoked", R"({"at_us": 7})");
  auto found = open()->find_by_hash(hash_a);
  ASSERT_TRUE(found.ok()) << found.err().detail;
  EXPECT_EQ(found->id.str(), key_id);
  EXPECT_EQ(found->tenant.str(), "acme");
  EXPECT_EQ(found->role, api::role::operator_);
  EXPECT_EQ(found->name, "bot");
  EXPECT_EQ(found->created_at_us, 42);
  EXPECT_TRUE(found->revoked);
}

TEST_F(event_log_api_key_store_test, unreadable_events_are_skipped_at_start_and_while_following) {
  auto bad = [&] {
    append("apikey-x1", "apikey.created", R"({"id": 5})");
    append("apikey-x2", "apikey.created", created_payload("x2", hash_b, "root"));
    append("apikey-x3", "apikey.created", created_payload("not-x3", hash_b));
    append("apikey-x4", "apikey.created", created_payload("x4", hash_b), 2);
    append("task-x5", "apikey.created", created_payload("x5", hash_b));
    append("apikey-unknown", "apikey.revoked", R"({"at_us": 1})");
  };
  bad();
  auto keys = open();
  EXPECT_TRUE(keys->list(tenant_id{"acme"}).empty());
  bad();
  append(std::string{"apikey-"} + key_id, "apikey.created", created_payload(key_id, hash_a));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!keys->find_by_hash(hash_a).ok() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(keys->list(tenant_id{"acme"}).size(), 1u);
  EXPECT_EQ(keys->find_by_hash(hash_b).err().code, errc::not_found);
}

} // namespace

namespace {

TEST_F(event_log_api_key_store_test, a_key_created_by_another_process_is_found_before_the_subscription_brings_it) {
  auto server_side = make_event_log_api_key_store(std::make_shared<aetherium::testing::lagging_subscriptions>(log_), clock_, ids_);
  auto cli_side = open();
  api::api_key_record k{apikey_id{key_id}, tenant_id{"acme"}, api::role::admin, "first", hash_a, 42, false};
  ASSERT_TRUE(cli_side->add(k).ok());
  auto found = server_side->find_by_hash(hash_a);
  ASSERT_TRUE(found.ok()) << found.err().detail;
  EXPECT_EQ(found->id.str(), key_id);
  EXPECT_EQ(server_side->find_by_hash(hash_b).err().code, errc::not_found);
}

} // namespace
