// The node_registry contract: every case runs unchanged over each backend's log.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "events/sha256.hpp"
#include "tests/contract/node_registry/backend.hpp"
#include "tests/support/eventually.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;
using aetherium::testing::eventually;
using aetherium::testing::make_backend;

namespace {

class node_registry_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    nodes_ = backend_->open(clock_);
  }

  static node_registration reg(const std::string& name, const std::string& credential) {
    return {node_id{name}, {4000, 8ull << 30, 8}, {"crun"}, "10.0.0.7:4242", sha256_hex(credential)};
  }

  /// Records `cmd` for `name` and fails the test if that fails.
  node_state recorded(const std::string& name, const node_command& cmd, node_registry* registry = nullptr) {
    auto r = (registry ? *registry : *nodes_).record(node_id{name}, cmd);
    EXPECT_TRUE(r.ok()) << r.err().detail;
    return r.ok() ? *r : node_state{};
  }

  issued_node_token issued(std::string note = "ci", std::int64_t ttl = 0) {
    auto t = nodes_->issue_token(std::move(note), ttl);
    EXPECT_TRUE(t.ok()) << t.err().detail;
    return t.ok() ? *t : issued_node_token{};
  }

  template <class T>
  static errc error_of(const result<T>& r) {
    return r.ok() ? errc::internal : r.err().code;
  }

  /// The record of `name` in `registry`'s list, or one with an empty id.
  static node_record listed(node_registry& registry, const std::string& name) {
    for (auto& r : registry.list())
      if (r.id.str() == name)
        return r;
    return {};
  }

  // Declared first so every registry goes away before the log it reads.
  std::unique_ptr<aetherium::testing::backend> backend_;
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<node_registry> nodes_;
};

TEST_F(node_registry_contract, an_issued_token_checks_out_to_its_id_and_is_listed) {
  auto t = issued("rack 3");
  EXPECT_EQ(t.id.size(), 16u);
  EXPECT_EQ(t.text.rfind("aetj_" + t.id + "_", 0), 0u) << t.text;
  auto checked = nodes_->check_token(t.text);
  ASSERT_TRUE(checked.ok()) << checked.err().detail;
  EXPECT_EQ(*checked, t.id);
  auto listed = nodes_->list_tokens();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<std::pair<std::string, bool>>{{t.id, false}}));
  auto states = nodes_->token_states();
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].note, "rack 3");
  EXPECT_EQ((*states)[0].issued_at_us, clock_->now_us());
  EXPECT_EQ((*states)[0].expires_at_us, 0);
}

TEST_F(node_registry_contract, malformed_unknown_and_wrong_secret_tokens_are_unauthorized) {
  auto t = issued();
  EXPECT_EQ(error_of(nodes_->check_token("")), errc::unauthorized);
  EXPECT_EQ(error_of(nodes_->check_token("ak_" + t.text)), errc::unauthorized);
  EXPECT_EQ(error_of(nodes_->check_token(t.text.substr(0, t.text.size() - 1))), errc::unauthorized);
  auto wrong = t.text;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(error_of(nodes_->check_token(wrong)), errc::unauthorized);
  auto unknown = issued().text;
  unknown.replace(5, 16, "0000000000000000");
  EXPECT_EQ(error_of(nodes_->check_token(unknown)), errc::unauthorized);
  EXPECT_TRUE(nodes_->check_token(t.text).ok());
}

TEST_F(node_registry_contract, a_revoked_token_no_longer_checks_out) {
  auto t = issued();
  auto other = issued();
  ASSERT_TRUE(nodes_->revoke_token(t.id).ok());
  EXPECT_EQ(error_of(nodes_->check_token(t.text)), errc::unauthorized);
  EXPECT_TRUE(nodes_->check_token(other.text).ok());
  EXPECT_TRUE(nodes_->revoke_token(t.id).ok()) << "twice is fine";
  EXPECT_EQ(*nodes_->list_tokens(), (std::vector<std::pair<std::string, bool>>{{t.id, true}, {other.id, false}}));
  EXPECT_EQ(error_of(nodes_->revoke_token("0000000000000000")), errc::not_found);
  EXPECT_EQ(error_of(nodes_->revoke_token("../../etc")), errc::not_found);
}

TEST_F(node_registry_contract, a_token_expires_after_its_ttl) {
  auto t = issued("short", 60);
  EXPECT_EQ(nodes_->token_states()->at(0).expires_at_us, clock_->now_us() + 60'000'000);
  clock_->advance(59'999'999);
  EXPECT_TRUE(nodes_->check_token(t.text).ok());
  clock_->advance(1);
  EXPECT_EQ(error_of(nodes_->check_token(t.text)), errc::unauthorized);
}

TEST_F(node_registry_contract, a_bad_ttl_or_note_is_invalid_and_issues_nothing) {
  auto bad_ttl = nodes_->issue_token("x", -1);
  ASSERT_FALSE(bad_ttl.ok());
  EXPECT_EQ(bad_ttl.err().code, errc::invalid_argument);
  EXPECT_EQ(bad_ttl.err().field, "ttl");
  auto bad_note = nodes_->issue_token(std::string(300, 'n'), 0);
  ASSERT_FALSE(bad_note.ok());
  EXPECT_EQ(bad_note.err().field, "note");
  EXPECT_TRUE(nodes_->list_tokens()->empty());
  EXPECT_EQ(*backend_->log()->head_position(), 0);
}

TEST_F(node_registry_contract, a_registered_node_is_listed_and_its_credential_checks_out) {
  auto s = recorded("worker-1", register_node{reg("worker-1", "s3cret"), 5});
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.status, node_status::up);
  auto r = listed(*nodes_, "worker-1");
  EXPECT_EQ(r.id.str(), "worker-1");
  EXPECT_EQ(r.state.node.capacity.sandbox_slots, 8u);
  EXPECT_EQ(r.last_event_us, 5);
  EXPECT_TRUE(nodes_->check_credential(node_id{"worker-1"}, "s3cret").ok());
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"worker-1"}, "s3cret ")), errc::unauthorized);
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"worker-2"}, "s3cret")), errc::unauthorized);
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"../worker-1"}, "s3cret")), errc::unauthorized);
}

TEST_F(node_registry_contract, a_node_without_a_credential_or_removed_cannot_prove_itself) {
  auto local = reg("local", "");
  local.credential_sha256.clear();
  recorded("local", register_node{local, 1});
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"local"}, "")), errc::unauthorized);
  recorded("worker-1", register_node{reg("worker-1", "old"), 1});
  auto removed = recorded("worker-1", remove_node{"decommissioned", 2});
  EXPECT_EQ(removed.status, node_status::removed);
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"worker-1"}, "old")), errc::unauthorized);
  EXPECT_EQ(listed(*nodes_, "worker-1").state.status, node_status::removed);
  recorded("worker-1", register_node{reg("worker-1", "new"), 3});
  EXPECT_EQ(error_of(nodes_->check_credential(node_id{"worker-1"}, "old")), errc::unauthorized);
  EXPECT_TRUE(nodes_->check_credential(node_id{"worker-1"}, "new").ok());
}

TEST_F(node_registry_contract, commands_go_through_the_aggregate) {
  recorded("worker-1", register_node{reg("worker-1", "a"), 1});
  EXPECT_EQ(error_of(nodes_->record(node_id{"worker-1"}, register_node{reg("worker-1", "b"), 2})), errc::conflict)
    << "a live node's name claimed with another credential";
  EXPECT_EQ(error_of(nodes_->record(node_id{"ghost"}, record_heartbeat{2})), errc::not_found);
  EXPECT_EQ(recorded("worker-1", undrain_node{2}).status, node_status::up) << "an up node: nothing to do";
  EXPECT_EQ(recorded("worker-1", drain_node{3}).status, node_status::drained);
  EXPECT_EQ(recorded("worker-1", undrain_node{4}).status, node_status::up);
  recorded("worker-1", mark_node_down{"heartbeat_timeout", 5});
  EXPECT_EQ(error_of(nodes_->record(node_id{"worker-1"}, drain_node{6})), errc::invalid_transition);
  EXPECT_EQ(listed(*nodes_, "worker-1").state.status, node_status::down);
  EXPECT_EQ(listed(*nodes_, "worker-1").last_event_us, 5);
}

TEST_F(node_registry_contract, the_same_registration_again_records_nothing) {
  recorded("worker-1", register_node{reg("worker-1", "a"), 1});
  auto head = *backend_->log()->head_position();
  auto again = recorded("worker-1", register_node{reg("worker-1", "a"), 9});
  EXPECT_EQ(again.registered_at_us, 1);
  EXPECT_EQ(*backend_->log()->head_position(), head);
}

TEST_F(node_registry_contract, refusals_are_recorded_for_names_that_never_joined) {
  recorded("intruder", refuse_join{"unknown token", "203.0.113.9:40000", 7});
  recorded("intruder", refuse_join{"unknown token", "203.0.113.9:40001", 8});
  auto r = listed(*nodes_, "intruder");
  EXPECT_EQ(r.id.str(), "intruder");
  EXPECT_FALSE(r.state.exists);
  EXPECT_EQ(r.refusals, 2u);
  EXPECT_EQ(r.last_event_us, 8);
  recorded("worker-1", register_node{reg("worker-1", "a"), 1});
  recorded("worker-1", refuse_join{"wrong credential", "203.0.113.9:40002", 9});
  EXPECT_EQ(listed(*nodes_, "worker-1").refusals, 1u);
  EXPECT_EQ(listed(*nodes_, "worker-1").state.status, node_status::up);
  EXPECT_TRUE(nodes_->check_credential(node_id{"worker-1"}, "a").ok());
}

TEST_F(node_registry_contract, an_invalid_name_records_nothing_even_a_refusal) {
  for (const std::string& name : std::vector<std::string>{"", "../etc", "-x", "a b", std::string(129, 'n')}) {
    auto r = nodes_->record(node_id{name}, refuse_join{"bad name", "203.0.113.9:1", 1});
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.err().code, errc::invalid_argument);
    EXPECT_EQ(r.err().field, "node");
  }
  auto other = nodes_->record(node_id{"worker-1"}, register_node{reg("worker-2", "a"), 1});
  EXPECT_EQ(error_of(other), errc::invalid_argument) << "a registration for another name";
  EXPECT_EQ(*backend_->log()->head_position(), 0);
  EXPECT_TRUE(nodes_->list().empty());
}

TEST_F(node_registry_contract, racing_writers_of_one_node_lose_no_event) {
  recorded("worker-1", register_node{reg("worker-1", "a"), 1});
  std::atomic<int> ok{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      auto mine = backend_->open(clock_);
      for (int i = 0; i < 5; ++i) {
        auto r = mine->record(node_id{"worker-1"}, refuse_join{"race", std::to_string(t), 10 + i});
        if (r.ok())
          ++ok;
        else if (r.err().code != errc::conflict)
          ++other_errors;
      }
    });
  for (auto& th : pool)
    th.join();
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(ok.load(), 0);
  auto reopened = backend_->open(clock_);
  EXPECT_EQ(listed(*reopened, "worker-1").refusals, static_cast<std::uint64_t>(ok.load()))
    << "every successful record is one event, none lost or doubled";
}

TEST_F(node_registry_contract, a_registry_opened_later_sees_every_node_and_token) {
  auto kept = issued("kept");
  auto gone = issued("gone");
  ASSERT_TRUE(nodes_->revoke_token(gone.id).ok());
  recorded("worker-1", register_node{reg("worker-1", "a"), 1});
  recorded("worker-1", drain_node{2});
  recorded("intruder", refuse_join{"bad token", "", 3});
  auto reopened = backend_->open(clock_);
  EXPECT_EQ(*reopened->list_tokens(), (std::vector<std::pair<std::string, bool>>{{kept.id, false}, {gone.id, true}}));
  EXPECT_TRUE(reopened->check_token(kept.text).ok());
  EXPECT_EQ(error_of(reopened->check_token(gone.text)), errc::unauthorized);
  auto nodes = reopened->list();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id.str(), "intruder");
  EXPECT_EQ(nodes[0].refusals, 1u);
  EXPECT_EQ(nodes[1].id.str(), "worker-1");
  EXPECT_EQ(nodes[1].state.status, node_status::drained);
  EXPECT_EQ(nodes[1].last_event_us, 2);
  EXPECT_TRUE(reopened->check_credential(node_id{"worker-1"}, "a").ok());
}

TEST_F(node_registry_contract, open_registries_follow_each_others_writes) {
  auto other = backend_->open(clock_);
  auto t = other->issue_token("from the other", 0);
  ASSERT_TRUE(t.ok());
  recorded("worker-1", register_node{reg("worker-1", "a"), 1}, other.get());
  EXPECT_TRUE(eventually([&] { return listed(*nodes_, "worker-1").state.exists; }));
  EXPECT_TRUE(eventually([&] { return nodes_->list_tokens()->size() == 1; }));
  ASSERT_TRUE(nodes_->revoke_token(t->id).ok());
  EXPECT_EQ(error_of(other->check_token(t->text)), errc::unauthorized) << "checks read the log, not the index";
  EXPECT_TRUE(eventually([&] { return other->list_tokens()->at(0).second; }));
  recorded("worker-1", remove_node{"gone", 2});
  EXPECT_EQ(error_of(other->check_credential(node_id{"worker-1"}, "a")), errc::unauthorized);
  EXPECT_TRUE(eventually([&] { return listed(*other, "worker-1").state.status == node_status::removed; }));
}

} // namespace
