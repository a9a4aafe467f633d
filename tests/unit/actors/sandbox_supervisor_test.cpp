// The supervisor's workers are detached threads, so this test uses CAF's threaded
// scheduler and blocking receives with a deadline (never sleeps).
#include "actors/sandbox_supervisor.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "events/memory_sandbox_runtime.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::sandbox_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::output_stream)

using namespace aetherium;
using namespace aetherium::actors;

namespace {

class supervisor_test : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() { set("scheduler.max-threads", 2); }
  };

  sandbox_job job(std::vector<std::string> argv) {
    sandbox_job j;
    j.spec.rootfs_dir = "/rootfs";
    j.spec.labels["task"] = "t1";
    j.argv = std::move(argv);
    return j;
  }

  /// Collects what the supervisor tells its owner until the outcome arrives.
  sandbox_outcome await_outcome(std::string* output = nullptr, std::string* id = nullptr) {
    sandbox_outcome outcome;
    bool done = false;
    while (!done)
      self_->receive(
        [&](log_atom, output_stream, const std::string& chunk) { if (output) *output += chunk; },
        [&](sandbox_atom, const std::string& sid) { if (id) *id = sid; },
        [&](sandbox_atom, sandbox_outcome& o) { outcome = std::move(o); done = true; },
        caf::after(std::chrono::seconds(10)) >> [&] { ADD_FAILURE() << "no outcome"; done = true; });
    return outcome;
  }

  config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor self_{sys_};
  std::shared_ptr<sandbox_runtime> rt_ = make_memory_sandbox_runtime();
};

TEST_F(supervisor_test, streams_output_reports_the_exit_and_destroys_the_sandbox) {
  spawn_sandbox_supervisor(sys_, rt_, self_, job({"echo", "hello", "world"}));
  std::string output, id;
  auto outcome = await_outcome(&output, &id);
  EXPECT_TRUE(outcome.ran);
  EXPECT_EQ(outcome.status.exit_code, 0);
  EXPECT_EQ(output, "hello world\n");
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(rt_->list()->empty());
}

TEST_F(supervisor_test, reports_a_failing_command_with_its_exit_code) {
  spawn_sandbox_supervisor(sys_, rt_, self_, job({"exit", "3"}));
  auto outcome = await_outcome();
  EXPECT_TRUE(outcome.ran);
  EXPECT_EQ(outcome.status.exit_code, 3);
}

TEST_F(supervisor_test, a_deadline_kills_the_command_and_still_cleans_up) {
  auto j = job({"sleep"});
  j.timeout = std::chrono::milliseconds(50);
  spawn_sandbox_supervisor(sys_, rt_, self_, j);
  auto outcome = await_outcome();
  EXPECT_TRUE(outcome.status.timed_out);
  EXPECT_TRUE(rt_->list()->empty());
}

TEST_F(supervisor_test, cancel_kills_the_running_command_and_still_cleans_up) {
  auto sup = spawn_sandbox_supervisor(sys_, rt_, self_, job({"sleep"}));
  std::string id;
  self_->receive([&](sandbox_atom, const std::string& sid) { id = sid; },
                 caf::after(std::chrono::seconds(10)) >> [] { ADD_FAILURE() << "never provisioned"; });
  self_->send(sup, cancel_atom::value);
  auto outcome = await_outcome();
  EXPECT_TRUE(outcome.status.cancelled);
  EXPECT_TRUE(rt_->list()->empty());
}

TEST_F(supervisor_test, a_spec_the_runtime_refuses_is_reported_as_a_failure) {
  auto j = job({"true"});
  j.spec.uid = 0;
  spawn_sandbox_supervisor(sys_, rt_, self_, j);
  auto outcome = await_outcome();
  EXPECT_FALSE(outcome.ran);
  EXPECT_EQ(outcome.failure.code, errc::invalid_argument);
}

} // namespace
