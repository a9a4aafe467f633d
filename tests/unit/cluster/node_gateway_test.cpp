// The node gateway's defences against peers without a token: refusals recorded within a
// budget (the rest counted, then said), and a bound on joins checked at once. One actor
// system in this process, the node registry over the in-memory log.
#include "cluster/node_gateway.hpp"

#include <condition_variable>
#include <mutex>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/scheduling/scheduling_messages.hpp"
#include "adapters/json/event_log_node_registry.hpp"
#include "cluster/cluster_messages.hpp"
#include "cluster/cluster_wire.hpp"
#include "events/event_store.hpp"
#include "tests/support/eventually.hpp"

using namespace aetherium;
using namespace aetherium::cluster;

namespace {

/// A registry whose token checks wait until released: joins pile up in the gateway.
class held_registry : public node_registry {
public:
  explicit held_registry(std::shared_ptr<node_registry> inner) : inner_(std::move(inner)) {}
  void release() {
    std::lock_guard<std::mutex> lock{mtx_};
    released_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard<std::mutex> lock{mtx_};
    return waiting_;
  }
  result<issued_node_token> issue_token(std::string note, std::int64_t ttl) override {
    return inner_->issue_token(std::move(note), ttl);
  }
  result<void> revoke_token(const std::string& id) override { return inner_->revoke_token(id); }
  result<std::vector<std::pair<std::string, bool>>> list_tokens() override { return inner_->list_tokens(); }
  result<std::string> check_token(const std::string& text) override {
    std::unique_lock<std::mutex> lock{mtx_};
    ++waiting_;
    cv_.wait(lock, [this] { return released_; });
    --waiting_;
    lock.unlock();
    return inner_->check_token(text);
  }
  result<void> check_credential(const node_id& n, const std::string& c) override { return inner_->check_credential(n, c); }
  result<scheduling::node_state> record(const node_id& n, const scheduling::node_command& cmd) override {
    return inner_->record(n, cmd);
  }
  std::vector<node_record> list() override { return inner_->list(); }

private:
  std::shared_ptr<node_registry> inner_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool released_ = false;
  int waiting_ = 0;
};

class node_gateway_test : public ::testing::Test {
protected:
  caf::actor start(node_gateway_options o) {
    o.scheduler = sys_.spawn([]() -> caf::behavior { return {[](actors::subscribe_atom) {}}; });
    o.nodes = std::make_shared<node_directory>();
    o.time = clock_;
    if (!o.registry)
      o.registry = registry_;
    return spawn_node_gateway(sys_, o);
  }

  /// A join with a token that is not one; returns the name of the reply's error code.
  std::string join_with_bad_token(const caf::actor& gateway, const std::string& node) {
    wire_registration reg;
    reg.node = node;
    errc code = errc::internal;
    caf::scoped_actor self{sys_};
    self->request(gateway, std::chrono::seconds(30), join_atom::value, reg,
                  std::string{"aetj_0123456789abcdef_" + std::string(43, 'A')}, agent_)
      .receive([&](wire_reply& r) { code = r.error.code == 0 ? errc::internal : from_wire(r.error).code; },
               [&](caf::error&) { code = errc::internal; });
    return to_string(code);
  }

  /// Reasons of the node.join_refused events in the log, oldest first.
  std::vector<std::string> refusal_reasons() {
    std::vector<std::string> out;
    auto all = log_->read_all(0, 10000);
    EXPECT_TRUE(all.ok());
    for (auto& e : *all)
      if (e.type == "node.join_refused")
        out.push_back(e.payload);
    return out;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<event_store> log_ = make_memory_event_store(clock_);
  std::shared_ptr<node_registry> registry_ = make_event_log_node_registry(log_, clock_, make_random_id_generator());
  caf::actor agent_ = sys_.spawn([]() -> caf::behavior { return {[](int) {}}; });
};

TEST_F(node_gateway_test, refusals_beyond_the_budget_are_refused_counted_and_said_by_the_next_recorded_one) {
  node_gateway_options o;
  o.refusal_burst = 3;
  o.refusal_refill = std::chrono::seconds(60);
  auto gateway = start(o);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(join_with_bad_token(gateway, "intruder" + std::to_string(i)), "unauthorized") << i;
  auto reasons = refusal_reasons();
  ASSERT_EQ(reasons.size(), 3u) << "the burst is recorded, the rest only counted";
  for (auto& r : reasons)
    EXPECT_EQ(r.find("not recorded"), std::string::npos) << r;

  clock_->advance(59'000'000);
  EXPECT_EQ(join_with_bad_token(gateway, "intruder8"), "unauthorized");
  EXPECT_EQ(refusal_reasons().size(), 3u) << "less than one refill later nothing more is recorded";

  clock_->advance(2'000'000);
  EXPECT_EQ(join_with_bad_token(gateway, "intruder9"), "unauthorized");
  reasons = refusal_reasons();
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_NE(reasons.back().find("6 refusals before this one not recorded"), std::string::npos) << reasons.back();
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
}

TEST_F(node_gateway_test, joins_beyond_the_ones_being_checked_are_told_to_come_back) {
  auto held = std::make_shared<held_registry>(registry_);
  node_gateway_options o;
  o.registry = held;
  o.max_admits = 2;
  auto gateway = start(o);
  caf::scoped_actor self{sys_};
  wire_registration reg;
  reg.node = "slow";
  std::string token = "aetj_0123456789abcdef_" + std::string(43, 'A');
  for (int i = 0; i < 2; ++i)
    self->send(gateway, join_atom::value, reg, token, agent_);
  ASSERT_TRUE(aetherium::testing::eventually([&] { return held->waiting() == 2; }));

  EXPECT_EQ(join_with_bad_token(gateway, "third"), "unavailable") << "the third is turned away at once";
  EXPECT_EQ(held->waiting(), 2) << "and takes no worker";

  held->release();
  int answered = 0;
  for (int i = 0; i < 2; ++i)
    self->receive([&](wire_reply& r) { answered += from_wire(r.error).code == errc::unauthorized; },
                  caf::after(std::chrono::seconds(30)) >> [] {});
  EXPECT_EQ(answered, 2) << "the two held joins are answered once their checks end";
  EXPECT_EQ(join_with_bad_token(gateway, "fourth"), "unauthorized") << "room again once they ended";
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
}

} // namespace
