// The sandbox_runtime contract (events/sandbox_runtime.hpp), one suite run against the
// in-memory runtime the unit tests use and against the OCI adapter (crun). The commands
// are the ones both understand: echo, env, true, false, sleep and a missing one.
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/contract/sandbox_runtime/backend.hpp"

namespace aetherium::testing {
namespace {

using namespace std::chrono_literals;

struct ran {
  exit_status status;
  std::string out, err;
};

class sandbox_runtime_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    ASSERT_NE(backend_, nullptr);
  }
  void TearDown() override {
    if (!backend_)
      return;
    if (auto all = rt().list())
      for (auto& info : *all)
        (void)rt().destroy(info.handle);
  }

  sandbox_runtime& rt() { return backend_->runtime(); }

  sandbox_handle provision() {
    auto h = rt().provision(backend_->spec());
    EXPECT_TRUE(h.ok()) << h.err().detail;
    return h ? *h : sandbox_handle{};
  }

  result<ran> run(const sandbox_handle& h, std::vector<std::string> argv,
                  std::chrono::milliseconds timeout = 30s, std::map<std::string, std::string> env = {}) {
    ran r;
    exec_request req;
    req.argv = std::move(argv);
    req.env = std::move(env);
    req.deadline = std::chrono::steady_clock::now() + timeout;
    req.on_output = [&r](output_stream s, std::string_view chunk) { (s == output_stream::out ? r.out : r.err).append(chunk); };
    auto status = rt().exec(h, req);
    if (!status)
      return status.err();
    r.status = *status;
    return r;
  }

  std::unique_ptr<backend> backend_;
};

TEST_F(sandbox_runtime_contract, a_provisioned_sandbox_is_listed_with_its_labels_and_runs_commands) {
  auto spec = backend_->spec();
  spec.labels = {{"task", "t-contract"}};
  auto h = rt().provision(spec);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto listed = rt().list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().handle.id, h->id);
  EXPECT_EQ(listed->front().labels.at("task"), "t-contract");
  auto live = rt().live_count();
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(*live, 1u);
  auto r = run(*h, {"echo", "hello", "world"});
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "hello world\n");
  EXPECT_EQ(r->status.exit_code, 0);
  EXPECT_FALSE(r->status.timed_out || r->status.cancelled || r->status.oom_killed);
}

TEST_F(sandbox_runtime_contract, reports_exit_codes_and_a_missing_command_as_127) {
  auto h = provision();
  EXPECT_EQ(run(h, {"true"})->status.exit_code, 0);
  EXPECT_EQ(run(h, {"false"})->status.exit_code, 1);
  auto missing = run(h, {"no-such-agent-cli"});
  ASSERT_TRUE(missing.ok()) << missing.err().detail;
  EXPECT_EQ(missing->status.exit_code, 127);
  EXPECT_TRUE(missing->status.not_executed);
  EXPECT_FALSE(run(h, {"false"})->status.not_executed) << "a command that ran and failed";
  EXPECT_NE(missing->err.find("no-such-agent-cli"), std::string::npos) << missing->err;
}

TEST_F(sandbox_runtime_contract, copies_files_in_and_out_of_the_workspace_only) {
  auto h = provision();
  ASSERT_TRUE(rt().copy_in(h, "/workspace/prompt.md", "fix the bug\n", 0644).ok());
  auto back = rt().copy_out(h, "/workspace/prompt.md", 1 << 20);
  ASSERT_TRUE(back.ok()) << back.err().detail;
  EXPECT_EQ(*back, "fix the bug\n");
  EXPECT_EQ(rt().copy_in(h, "/etc/passwd", "x", 0644).err().code, errc::invalid_argument);
  EXPECT_EQ(rt().copy_out(h, "/workspace/absent.txt", 1 << 20).err().code, errc::not_found);
  EXPECT_EQ(rt().copy_out(h, "/workspace/prompt.md", 4).err().code, errc::invalid_argument);
}

TEST_F(sandbox_runtime_contract, a_deadline_kills_the_sandbox_for_good) {
  auto h = provision();
  auto r = run(h, {"sleep", "60"}, 300ms);
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_TRUE(r->status.timed_out);
  EXPECT_FALSE(r->status.cancelled);
  EXPECT_EQ(r->status.signal, 9);
  EXPECT_EQ(run(h, {"true"}).err().code, errc::invalid_transition);
}

TEST_F(sandbox_runtime_contract, cancel_ends_a_running_command_and_every_later_one) {
  auto h = provision();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(rt().cancel(h).ok());
  });
  auto r = run(h, {"sleep", "60"});
  canceller.join();
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_TRUE(r->status.cancelled);
  EXPECT_FALSE(r->status.timed_out);
  EXPECT_EQ(run(h, {"true"}).err().code, errc::invalid_transition);
  EXPECT_TRUE(rt().cancel(h).ok()) << "cancel is idempotent";
}

TEST_F(sandbox_runtime_contract, a_catchable_signal_ends_the_running_command_and_the_sandbox_lives_on) {
  auto h = provision();
  std::thread signaller([&] {
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(rt().signal(h, 15).ok());
  });
  auto r = run(h, {"sleep", "60"});
  signaller.join();
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->status.signal, 15);
  EXPECT_EQ(r->status.exit_code, 143);
  EXPECT_FALSE(r->status.cancelled || r->status.timed_out);
  auto after = run(h, {"echo", "alive"});
  ASSERT_TRUE(after.ok()) << after.err().detail;
  EXPECT_EQ(after->out, "alive\n");
}

TEST_F(sandbox_runtime_contract, destroy_is_idempotent_and_forgets_the_sandbox) {
  auto h = provision();
  ASSERT_TRUE(rt().destroy(h).ok());
  EXPECT_TRUE(rt().destroy(h).ok());
  EXPECT_TRUE(rt().list()->empty());
  EXPECT_EQ(*rt().live_count(), 0u);
  EXPECT_EQ(run(h, {"true"}).err().code, errc::not_found);
  EXPECT_EQ(rt().stats(h).err().code, errc::not_found);
  EXPECT_EQ(rt().copy_out(h, "/workspace/x", 10).err().code, errc::not_found);
  EXPECT_EQ(rt().cancel(h).err().code, errc::not_found);
}

/// The value `env` printed for `name`; "<unset>" when it printed no such line.
std::string env_value(const std::string& env_output, const std::string& name) {
  std::istringstream lines(env_output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
  return "<unset>";
}

TEST_F(sandbox_runtime_contract, exec_names_the_model_gateway_only_when_the_spec_has_one) {
  auto plain = provision();
  auto spec = backend_->spec();
  // Nothing needs to listen there for the variable to be set.
  spec.gateway_socket = "/tmp/aetherium-contract-gateway.sock";
  auto gated = rt().provision(spec);
  if (!backend_->reaches_gateway()) {
    ASSERT_FALSE(gated.ok());
    EXPECT_EQ(gated.err().code, errc::invalid_argument);
    EXPECT_EQ(gated.err().field, "gateway_socket");
    EXPECT_EQ(rt().list()->size(), 1u) << "nothing is left of a refused provision";
    return;
  }
  ASSERT_TRUE(gated.ok()) << gated.err().detail;
  auto without = run(plain, {"env"}, 30s, {{"TASK_MARK", "plain"}});
  auto with = run(*gated, {"env"}, 30s, {{"TASK_MARK", "gated"}});
  ASSERT_TRUE(without.ok() && with.ok());
  EXPECT_EQ(env_value(without->out, "TASK_MARK"), "plain") << without->out;
  EXPECT_EQ(env_value(without->out, "AETHERIUM_MODEL_GATEWAY"), "<unset>") << without->out;
  EXPECT_EQ(env_value(with->out, "TASK_MARK"), "gated") << with->out;
  auto gateway = env_value(with->out, "AETHERIUM_MODEL_GATEWAY");
  EXPECT_NE(gateway, "<unset>") << with->out;
  EXPECT_FALSE(gateway.empty()) << with->out;
  spec.gateway_socket = "relative/gateway.sock";
  auto refused = rt().provision(spec);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::invalid_argument);
  EXPECT_EQ(refused.err().field, "gateway_socket");
  EXPECT_EQ(rt().list()->size(), 2u) << "nothing is left of a refused provision";
}

TEST_F(sandbox_runtime_contract, refuses_root_and_empty_commands) {
  auto spec = backend_->spec();
  spec.uid = 0;
  EXPECT_EQ(rt().provision(spec).err().code, errc::invalid_argument);
  EXPECT_TRUE(rt().list()->empty()) << "nothing is left of a refused provision";
  auto h = provision();
  EXPECT_EQ(run(h, {}).err().code, errc::invalid_argument);
  EXPECT_TRUE(rt().stats(h).ok());
}

} // namespace
} // namespace aetherium::testing
