// The scheduler and node actors on CAF's deterministic test scheduler: heartbeat silence
// is simulated time, never a sleep.
#include "actors/scheduling/scheduler_actor.hpp"

#include "actors/scheduling/heartbeat.hpp"
#include "actors/scheduling/node_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "tests/unit/actors/actor_test_fixture.hpp"

using namespace aetherium;
using namespace aetherium::actors;
using namespace aetherium::scheduling;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t gib = 1ull << 30;

class scheduler_actor_test : public aetherium::testing::actor_test_fixture {
protected:
  caf::actor spawn(strategy s = strategy::bin_pack) {
    return spawn_scheduler(sys_, scheduler_options{s, unlimited_quotas(), 10s, clock_});
  }

  node_outcome register_node(const caf::actor& sched, const char* id, std::uint32_t cpu = 4000) {
    return ask<node_outcome>(sched, register_atom::value,
                             node_registration{node_id{id}, {cpu, 8 * gib, 10}, {"crun"}, ""});
  }

  placement_outcome place(const caf::actor& sched, const std::string& task, const char* tenant = "acme",
                          std::uint32_t cpu = 1000) {
    return ask<placement_outcome>(sched, place_atom::value,
                                  placement_request{task_id{task}, tenant_id{tenant}, "crun", cpu, gib});
  }

  std::string node_of(const placement_outcome& out) {
    return out ? out->str() : std::string{"error:"} + to_string(out.err().code) + ":" + out.err().field;
  }

  node_status status(const caf::actor& sched, const char* id) {
    auto out = ask<node_outcome>(sched, get_atom::value, std::string{id});
    EXPECT_TRUE(out.ok());
    return out ? out->status : node_status::down;
  }

  std::optional<node_down_report> next_report() {
    std::optional<node_down_report> report;
    self_->receive([&](rescheduled_atom, node_down_report& r) { report = std::move(r); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    return report;
  }

  void advance(caf::timespan d) {
    sched_.advance_time(d);
    run();
  }

  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>(1000);
};

TEST_F(scheduler_actor_test, places_on_a_registered_node_and_releases) {
  auto sched = spawn();
  auto reg = register_node(sched, "n1");
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->status, node_status::up);
  EXPECT_EQ(reg->registered_at_us, 1000) << "stamped by the injected clock";
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  auto summary = ask<scheduler_summary>(sched, get_atom::value);
  EXPECT_EQ(summary.live_tasks, 1u);
  ASSERT_EQ(summary.nodes.size(), 1u);
  EXPECT_EQ(summary.nodes[0].used.cpu_millis, 1000u);
  auto freed = ask<release_outcome>(sched, release_atom::value, std::string{"t1"});
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->node.str(), "n1");
  EXPECT_EQ(ask<scheduler_summary>(sched, get_atom::value).live_tasks, 0u);
  auto again = ask<release_outcome>(sched, release_atom::value, std::string{"t1"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::not_found);
}

TEST_F(scheduler_actor_test, placement_errors_carry_the_code_and_the_field) {
  auto sched = spawn();
  EXPECT_EQ(node_of(place(sched, "t1")), "error:unavailable:") << "no node yet";
  (void)register_node(sched, "n1");
  EXPECT_EQ(node_of(place(sched, "t1", "acme", 8000)), "error:invalid_argument:cpu_millis");
  auto set = ask<quota_outcome>(sched, quota_atom::value, std::string{"acme"}, placement_quotas{1, 100000, 100 * gib});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  EXPECT_EQ(node_of(place(sched, "t2")), "error:quota_exceeded:max_sandboxes");
  auto bad = ask<quota_outcome>(sched, quota_atom::value, std::string{"acme"}, placement_quotas{1, 0, gib});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().field, "cpu_millis");
}

TEST_F(scheduler_actor_test, node_commands_are_refused_with_the_aggregate_errors) {
  auto sched = spawn();
  auto unknown = ask<node_outcome>(sched, heartbeat_atom::value, std::string{"ghost"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err().code, errc::not_found);
  auto invalid = ask<node_outcome>(sched, register_atom::value, node_registration{node_id{"n1"}, {}, {"crun"}, ""});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.err().field, "cpu_millis");
  EXPECT_FALSE(ask<caf::actor>(sched, actor_atom::value, std::string{"n1"})) << "no actor for a refused node";
  (void)register_node(sched, "n1");
  auto conflict = register_node(sched, "n1", 2000);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.err().code, errc::conflict);
}

TEST_F(scheduler_actor_test, the_heartbeat_actor_keeps_its_node_up) {
  auto sched = spawn();
  (void)register_node(sched, "n1");
  (void)register_node(sched, "n2");
  auto beat = spawn_heartbeat(sys_, sched, node_id{"n1"}, 3s);
  for (int i = 0; i < 8; ++i)
    advance(3s);
  EXPECT_EQ(status(sched, "n1"), node_status::up) << "n1 beat every 3 s for 24 s";
  EXPECT_EQ(status(sched, "n2"), node_status::down) << "n2 has been silent for 24 s";
  caf::anon_send_exit(beat, caf::exit_reason::user_shutdown);
  run();
  advance(11s);
  EXPECT_EQ(status(sched, "n1"), node_status::down) << "its heartbeat stopped 11 s ago";
}

TEST_F(scheduler_actor_test, a_silent_node_is_marked_down_and_its_tasks_move) {
  auto sched = spawn();
  self_->send(sched, subscribe_atom::value);
  (void)register_node(sched, "n1");
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  (void)register_node(sched, "n2");
  advance(6s);
  ASSERT_TRUE(ask<node_outcome>(sched, heartbeat_atom::value, std::string{"n1"}).ok());
  advance(6s);
  EXPECT_EQ(status(sched, "n1"), node_status::up) << "n1 beat 6 s ago";
  EXPECT_EQ(status(sched, "n2"), node_status::down) << "n2 has been silent for 12 s";
  auto report = next_report();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->node.str(), "n2");
  EXPECT_EQ(report->reason, "heartbeat_timeout");
  EXPECT_TRUE(report->tasks.empty());
  advance(5s);
  EXPECT_EQ(status(sched, "n1"), node_status::down);
  report = next_report();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->tasks.size(), 1u);
  EXPECT_EQ(report->tasks[0].request.task.str(), "t1");
  EXPECT_EQ(report->tasks[0].to.err().code, errc::unavailable) << "every node is down";
  EXPECT_EQ(ask<scheduler_summary>(sched, get_atom::value).live_tasks, 0u);
}

TEST_F(scheduler_actor_test, a_down_node_must_register_again_to_take_work) {
  auto sched = spawn();
  (void)register_node(sched, "n1");
  advance(11s);
  auto beat = ask<node_outcome>(sched, heartbeat_atom::value, std::string{"n1"});
  ASSERT_FALSE(beat.ok());
  EXPECT_EQ(beat.err().code, errc::invalid_transition);
  EXPECT_EQ(node_of(place(sched, "t1")), "error:unavailable:");
  ASSERT_TRUE(register_node(sched, "n1").ok());
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
}

TEST_F(scheduler_actor_test, marking_a_node_down_moves_its_tasks_to_another) {
  auto sched = spawn();
  self_->send(sched, subscribe_atom::value);
  (void)register_node(sched, "n1");
  (void)register_node(sched, "n2");
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  EXPECT_EQ(node_of(place(sched, "t2")), "n1");
  auto down = ask<node_outcome>(sched, down_atom::value, std::string{"n1"}, std::string{"maintenance"});
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->status, node_status::down);
  auto report = next_report();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->reason, "maintenance");
  ASSERT_EQ(report->tasks.size(), 2u);
  EXPECT_EQ(report->tasks[0].to->str(), "n2");
  EXPECT_EQ(report->tasks[1].to->str(), "n2");
  EXPECT_EQ(node_of(place(sched, "t1")), "n2") << "placing a moved task again names its new node";
}

TEST_F(scheduler_actor_test, a_drained_node_keeps_its_tasks_and_takes_none) {
  auto sched = spawn(strategy::spread);
  (void)register_node(sched, "n1");
  (void)register_node(sched, "n2");
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  auto drained = ask<node_outcome>(sched, drain_atom::value, std::string{"n1"});
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->status, node_status::drained);
  EXPECT_EQ(node_of(place(sched, "t2")), "n2");
  EXPECT_EQ(node_of(place(sched, "t3")), "n2") << "spread would pick n1 were it not drained";
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
}

TEST_F(scheduler_actor_test, a_crashed_node_actor_counts_as_the_node_going_down) {
  auto sched = spawn();
  self_->send(sched, subscribe_atom::value);
  (void)register_node(sched, "n1");
  (void)register_node(sched, "n2");
  EXPECT_EQ(node_of(place(sched, "t1")), "n1");
  auto n1 = ask<caf::actor>(sched, actor_atom::value, std::string{"n1"});
  ASSERT_TRUE(n1);
  self_->send_exit(n1, caf::exit_reason::kill);
  run();
  auto report = next_report();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->node.str(), "n1");
  ASSERT_EQ(report->tasks.size(), 1u);
  EXPECT_EQ(report->tasks[0].to->str(), "n2");
  ASSERT_TRUE(register_node(sched, "n1").ok()) << "a fresh node actor takes the registration";
  EXPECT_EQ(status(sched, "n1"), node_status::up);
}

TEST_F(scheduler_actor_test, stopping_the_scheduler_stops_its_node_actors) {
  auto sched = spawn();
  (void)register_node(sched, "n1");
  auto n1 = ask<caf::actor>(sched, actor_atom::value, std::string{"n1"});
  ASSERT_TRUE(n1);
  self_->monitor(n1);
  self_->send_exit(sched, caf::exit_reason::user_shutdown);
  run();
  bool down = false;
  self_->receive([&](caf::down_msg& m) { down = m.source == n1.address(); },
                 caf::after(std::chrono::seconds(0)) >> [] {});
  EXPECT_TRUE(down) << "a node actor outlived its scheduler";
}

TEST_F(scheduler_actor_test, a_node_actor_refuses_a_registration_for_another_node) {
  auto n = spawn_node_actor(sys_, node_id{"n1"}, caf::actor_addr{}, node_actor_options{5s, clock_});
  auto before = ask<node_outcome>(n, get_atom::value);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.err().code, errc::not_found);
  auto wrong = ask<node_outcome>(n, register_atom::value, node_registration{node_id{"n2"}, {1000, gib, 1}, {"crun"}, ""});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.err().field, "id");
  auto right = ask<node_outcome>(n, register_atom::value, node_registration{node_id{"n1"}, {1000, gib, 1}, {"crun"}, ""});
  ASSERT_TRUE(right.ok());
  clock_->advance(7);
  auto beat = ask<node_outcome>(n, heartbeat_atom::value);
  ASSERT_TRUE(beat.ok());
  EXPECT_EQ(beat->last_heartbeat_us, 1007);
  advance(6s);
  EXPECT_EQ(ask<node_outcome>(n, get_atom::value)->status, node_status::down) << "no owner needed to go down";
}

} // namespace
