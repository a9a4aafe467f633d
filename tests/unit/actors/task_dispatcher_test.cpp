// The dispatcher's wait for room, on CAF's test scheduler: a task the scheduler cannot
// place yet holds no thread, asks again on a timer, and starts its run once placed, once
// it can never be placed, or once its own deadline passed; a cancel or the server's stop
// while it waits ends the wait.
#include <chrono>
#include <thread>

#include "tests/unit/actors/actor_test_fixture.hpp"
#include "actors/domain_messages.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/task_runner.hpp"
#include "events/api/memory_task_log.hpp"
#include "events/memory_sandbox_runtime.hpp"
#include "tests/support/closed_model_gateway.hpp"

using namespace aetherium;
using namespace aetherium::actors;

namespace {

/// What the fakes saw and answer.
struct script {
  domain::task_state requested;
  int reads = 0;
  int asked = 0;
  scheduling::placement_request last_request; ///< What the scheduler was asked last.
  int released = 0;
  placement_outcome answer = make_error(errc::unavailable, "every node is full");
  struct run {
    caf::actor actor;
    bool recover = false;
    placement_outcome placed;
    bool cancelled = false;
  };
  std::vector<run> runs; ///< What the dispatcher started, in order.
};

domain::task_state requested_task(std::uint32_t max_seconds) {
  domain::task_spec spec;
  spec.agent_type = "echo";
  spec.prompt = "do it";
  spec.repo = "/srv/repo.git";
  spec.base_ref = "main";
  spec.budgets.max_seconds = max_seconds;
  domain::task_state s;
  auto events = domain::task::decide(s, domain::request_task{task_id{"t1"}, tenant_id{"acme"}, project_id{"p1"}, {}, spec, 1});
  for (auto& e : *events)
    s = domain::task::evolve(std::move(s), e);
  return s;
}

caf::behavior fake_tasks(caf::event_based_actor*, std::shared_ptr<script> sc) {
  return {[sc](get_atom, const std::string&) {
    ++sc->reads;
    task_reply r;
    r.state = sc->requested;
    return r;
  }};
}

caf::behavior fake_scheduler(caf::event_based_actor*, std::shared_ptr<script> sc) {
  return {
    [sc](place_atom, const scheduling::placement_request& r) {
      ++sc->asked;
      sc->last_request = r;
      return sc->answer;
    },
    [sc](release_atom, const std::string&) { ++sc->released; },
  };
}

/// Stands for a runner: it notes what it was started with and a cancel, and ends when
/// the test says so (or on the server's stop).
caf::behavior fake_run(caf::event_based_actor* self, std::shared_ptr<script> sc, std::size_t index) {
  return {
    [sc, index](cancel_atom) { sc->runs[index].cancelled = true; },
    [self](stop_atom) { self->quit(); },
  };
}

class task_dispatcher_test : public aetherium::testing::actor_test_fixture {
protected:
  void SetUp() override { sc_->requested = requested_task(60); }

  caf::actor spawn_dispatcher(std::shared_ptr<models::model_gateway> gateway = nullptr) {
    execution_ports ports;
    ports.gateway = std::move(gateway);
    ports.sandboxes = make_memory_sandbox_runtime();
    ports.logs = api::make_memory_task_log();
    ports.time = make_system_clock();
    logs_ = ports.logs;
    auto tasks = sys_.spawn(fake_tasks, sc_);
    auto scheduler = sys_.spawn(fake_scheduler, sc_);
    auto sc = sc_;
    auto launch = [sc](caf::actor_system& sys, const std::string&, bool recover, placement_outcome placed) {
      sc->runs.push_back({{}, recover, std::move(placed), false});
      sc->runs.back().actor = sys.spawn(fake_run, sc, sc->runs.size() - 1);
      return sc->runs.back().actor;
    };
    return spawn_task_dispatcher(sys_, tasks, caf::actor{}, scheduler, node_id{"n1"}, ports, {}, launch);
  }

  std::size_t runners(const caf::actor& d) { return ask<std::size_t>(d, get_atom::value); }

  /// Ends the runs started so far, as runners that finished.
  void end_runs() {
    for (auto& r : sc_->runs)
      self_->send_exit(r.actor, caf::exit_reason::user_shutdown);
    run();
  }

  /// Advances simulated time by `d` in steps of `step`, running the system after each.
  void pass(std::chrono::milliseconds d, std::chrono::milliseconds step = std::chrono::milliseconds(250)) {
    for (auto t = std::chrono::milliseconds(0); t < d; t += step) {
      sched_.advance_time(step);
      run();
    }
  }

  std::string log_text() {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) { // the line is written on a thread of its own (the log's file may block)
      std::string text;
      for (auto& c : logs_->read(task_id{"t1"}, 0))
        text += c.text;
      if (!text.empty() || std::chrono::steady_clock::now() > give_up)
        return text;
      std::this_thread::yield();
    }
  }

  std::shared_ptr<script> sc_ = std::make_shared<script>();
  std::shared_ptr<task_log> logs_;
};

TEST_F(task_dispatcher_test, a_task_waiting_for_room_holds_no_runner_and_asks_again_on_a_timer) {
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  EXPECT_EQ(sc_->asked, 1);
  EXPECT_TRUE(sc_->runs.empty()) << "a task waiting for room has a runner";
  EXPECT_EQ(runners(d), 0u);
  EXPECT_NE(log_text().find("waiting for room: every node is full"), std::string::npos);

  pass(std::chrono::milliseconds(250));
  EXPECT_EQ(sc_->asked, 2);
  EXPECT_TRUE(sc_->runs.empty());

  sc_->answer = node_id{"n1"};
  pass(std::chrono::milliseconds(250));
  EXPECT_EQ(sc_->asked, 3);
  ASSERT_EQ(sc_->runs.size(), 1u) << "the placed task's run did not start";
  ASSERT_TRUE(sc_->runs[0].placed);
  EXPECT_EQ(*sc_->runs[0].placed, node_id{"n1"});
  EXPECT_FALSE(sc_->runs[0].recover);
  EXPECT_EQ(runners(d), 1u);
  pass(std::chrono::seconds(5));
  EXPECT_EQ(sc_->asked, 3) << "a placed task still asks for room";
  EXPECT_EQ(sc_->reads, 1);
  end_runs();
  EXPECT_EQ(runners(d), 0u);
}

TEST_F(task_dispatcher_test, a_task_naming_model_providers_asks_for_the_node_of_the_gateway_only) {
  sc_->requested.spec.model_providers = {"anthropic"};
  sc_->answer = node_id{"n1"};
  auto d = spawn_dispatcher(std::make_shared<aetherium::testing::closed_model_gateway>());
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  ASSERT_EQ(sc_->asked, 1);
  EXPECT_EQ(sc_->last_request.only_on.str(), "n1") << "the gateway's socket is in this process, on node n1";
  EXPECT_EQ(sc_->last_request.task.str(), "t1");
  EXPECT_EQ(sc_->runs.size(), 1u);
  end_runs();
}

TEST_F(task_dispatcher_test, a_task_without_model_providers_may_go_to_any_node) {
  sc_->answer = node_id{"n1"};
  auto d = spawn_dispatcher(std::make_shared<aetherium::testing::closed_model_gateway>());
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  ASSERT_EQ(sc_->asked, 1);
  EXPECT_TRUE(sc_->last_request.only_on.empty()) << sc_->last_request.only_on.str();
  EXPECT_EQ(sc_->runs.size(), 1u);
  end_runs();
}

TEST_F(task_dispatcher_test, a_run_that_ends_makes_a_waiting_task_ask_at_once) {
  sc_->answer = node_id{"n1"};
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  ASSERT_EQ(sc_->runs.size(), 1u);
  sc_->answer = make_error(errc::quota_exceeded, "tenant acme runs 1 of 1 tasks");
  self_->send(d, run_atom::value, std::string{"t2"});
  run();
  EXPECT_EQ(sc_->asked, 2);
  sc_->answer = node_id{"n1"};
  end_runs(); // no time passes: the release of the ended run is what wakes t2
  EXPECT_EQ(sc_->asked, 3);
  EXPECT_EQ(sc_->runs.size(), 2u);
  end_runs();
}

TEST_F(task_dispatcher_test, a_task_no_node_can_run_starts_its_run_at_once_with_the_refusal) {
  sc_->answer = make_error(errc::invalid_argument, "no node offers runtime microvm");
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  EXPECT_EQ(sc_->asked, 1);
  ASSERT_EQ(sc_->runs.size(), 1u);
  ASSERT_FALSE(sc_->runs[0].placed);
  EXPECT_EQ(sc_->runs[0].placed.err().code, errc::invalid_argument) << "the run fails it with no_capacity";
  end_runs();
}

TEST_F(task_dispatcher_test, a_task_still_waiting_when_its_deadline_passes_starts_its_run_with_the_refusal) {
  sc_->requested = requested_task(2);
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  pass(std::chrono::milliseconds(1750));
  EXPECT_TRUE(sc_->runs.empty()) << "the run started before the task's deadline";
  pass(std::chrono::milliseconds(500));
  ASSERT_EQ(sc_->runs.size(), 1u) << "the task waited past its deadline";
  ASSERT_FALSE(sc_->runs[0].placed);
  EXPECT_EQ(sc_->runs[0].placed.err().code, errc::unavailable);
  auto asked = sc_->asked;
  pass(std::chrono::seconds(5));
  EXPECT_EQ(sc_->asked, asked);
  end_runs();
}

TEST_F(task_dispatcher_test, a_cancel_while_waiting_starts_the_run_that_terminates_it) {
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  self_->send(d, cancel_atom::value, std::string{"t1"});
  run();
  ASSERT_EQ(sc_->runs.size(), 1u) << "no run was started to record the end";
  EXPECT_TRUE(sc_->runs[0].cancelled);
  EXPECT_FALSE(sc_->runs[0].placed);
  pass(std::chrono::seconds(5));
  EXPECT_EQ(sc_->asked, 1) << "a cancelled task still asks for room";
  end_runs();
}

TEST_F(task_dispatcher_test, the_servers_stop_while_a_task_waits_leaves_it_as_it_is) {
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  run();
  EXPECT_TRUE(ask<bool>(d, stop_atom::value)) << "the stop waited for a task that holds nothing";
  pass(std::chrono::seconds(5));
  EXPECT_EQ(sc_->asked, 1);
  EXPECT_TRUE(sc_->runs.empty()) << "a run started for a task the next start runs";
}

TEST_F(task_dispatcher_test, a_placement_answered_after_the_stop_is_given_back) {
  sc_->answer = node_id{"n1"};
  auto d = spawn_dispatcher();
  self_->send(d, run_atom::value, std::string{"t1"});
  // The placement request is on its way when the stop comes.
  while (sc_->reads == 0 && sched_.try_run_once()) {
  }
  sched_.try_run_once();
  self_->send(d, stop_atom::value);
  run();
  EXPECT_EQ(sc_->asked, 1);
  EXPECT_TRUE(sc_->runs.empty());
  EXPECT_EQ(sc_->released, 1) << "a node was kept for a task that does not run";
}

TEST_F(task_dispatcher_test, a_restart_places_a_task_it_resumes_and_not_one_it_fails) {
  sc_->answer = node_id{"n1"};
  sc_->requested.status = domain::task_status::running; // its agent ran when the server went
  auto d = spawn_dispatcher();
  self_->send(d, tick_atom::value, std::string{"t1"});
  run();
  EXPECT_EQ(sc_->asked, 0);
  ASSERT_EQ(sc_->runs.size(), 1u);
  EXPECT_TRUE(sc_->runs[0].recover);
  end_runs();
}

} // namespace
