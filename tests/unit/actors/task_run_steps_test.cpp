// The steps of a task run against in-memory ports and a host that applies the task
// aggregate directly: which events a run records, for each way it can end.
#include <gtest/gtest.h>

#include "actors/task_run_steps.hpp"
#include "events/api/memory_task_log.hpp"
#include "events/memory_sandbox_runtime.hpp"
#include "events/secret_store.hpp"
#include "tests/support/closed_model_gateway.hpp"

using namespace aetherium;
using namespace aetherium::actors;

namespace {

class fake_host : public run_host {
public:
  explicit fake_host(std::shared_ptr<sandbox_runtime> rt) : rt_(std::move(rt)) {}

  result<domain::task_state> load(const std::string&) override { return state; }

  result<domain::task_state> command(const std::string&, domain::task_command cmd, const event_metadata&) override {
    if (store_down)
      return make_error(errc::unavailable, "database unreachable");
    auto decided = domain::task::decide(state, cmd);
    if (!decided)
      return decided.err();
    for (auto& e : *decided) {
      types.push_back(domain::type_name(e));
      state = domain::task::evolve(std::move(state), e);
      if (types.back() == stop_after) // the server's stop arrives right after this event
        stopping = true;
      if (types.back() == down_after) // then the store goes down, and the server stops
        store_down = stopping = true;
    }
    return state;
  }

  const domain::task_state& last_state() const override { return state; }
  result<node_id> place(const scheduling::placement_request& r) override {
    asked.push_back(r);
    return node_id{"n1"};
  }
  void release(const std::string&) override { ++released; }

  sandbox_run run_sandbox(std::shared_ptr<sandbox_runtime> rt, sandbox_job job, sandbox_callbacks cb) override {
    sandbox_run run;
    auto h = rt->provision(job.spec);
    if (!h) {
      run.outcome.failure = h.err();
      return run;
    }
    if (job.ready && !job.ready()) { // as the supervisor: the agent waits for its workspace
      run.outcome.failure = make_error(errc::unavailable, "workspace not ready");
      (void)rt->destroy(*h);
      return run;
    }
    if (cb.on_provisioned)
      cb.on_provisioned(h->id);
    exec_request req;
    req.argv = job.argv;
    req.deadline = std::chrono::steady_clock::now() + job.timeout;
    req.on_output = [&](output_stream s, std::string_view text) {
      if (cb.on_output)
        cb.on_output(s, std::string{text});
    };
    if (stop_in_sandbox) { // the server's stop arrives while the agent runs
      stopping = true;
      run.cancelled = true;
      (void)rt->destroy(*h);
      return run;
    }
    auto st = rt->exec(*h, req);
    run.outcome.ran = st.ok();
    if (st)
      run.outcome.status = *st;
    (void)rt->destroy(*h);
    return run;
  }

  bool wait(std::chrono::milliseconds) override { return !stopping; }
  bool cancel_pending() override { return cancelled || stopping; }
  bool interrupted() override { return stopping; }

  domain::task_state state;
  std::vector<std::string> types;
  std::vector<scheduling::placement_request> asked; ///< What place was asked, in order.
  int released = 0;
  bool cancelled = false;
  bool stopping = false;
  bool stop_in_sandbox = false;
  std::string stop_after; ///< An event type after which the server stops.
  std::string down_after; ///< An event type after which the store is down and the server stops.
  bool store_down = false;

private:
  std::shared_ptr<sandbox_runtime> rt_;
};

class fake_workspaces : public workspace_provider {
public:
  result<void> prepare(const checkout_request& r) override {
    prepared.push_back(r.dir);
    return {};
  }
  result<std::string> checkout(const checkout_request& r) override {
    last_request = r;
    if (checkout_fails)
      return make_error(errc::not_found, "no such ref");
    return std::string{"c0ffee"};
  }
  result<change_set> collect(const std::string&, const std::string& base, std::size_t) override {
    change_set c{base, {}, {}};
    if (changed)
      c = {base, {{"a.txt", file_change::kind::modified, "new\n", false}}, "--- a/a.txt\n+++ b/a.txt\n-old\n+new\n"};
    return c;
  }
  std::vector<std::string> list(const std::string&) override { return {}; }
  result<void> write_task_files(const std::string& dir, const task_files& files) override {
    written[dir] = files;
    return {};
  }
  result<void> apply(const std::string&, const change_set&) override { return {}; }
  result<change_set> replay(const std::string&, const std::string& base, const std::string& patch) override {
    replayed.push_back(patch);
    return change_set{base, {{"a.txt", file_change::kind::modified, "new\n", false}}, patch};
  }
  result<void> check_space(const std::string&) override {
    if (full)
      return make_error(errc::invalid_argument, "full", "disk_bytes");
    return {};
  }
  void release(const std::string& dir) override { released.push_back(dir); }
  bool changed = true;
  bool full = false;
  bool checkout_fails = false;
  checkout_request last_request;
  std::vector<std::string> released;
  std::vector<std::string> prepared;
  std::vector<std::string> replayed;
  std::map<std::string, task_files> written;
};

/// A blob store that is unavailable for its first `outage` calls.
class flaky_blobs : public blob_store {
public:
  explicit flaky_blobs(int outage) : left_(outage) {}
  result<std::string> put(std::string_view bytes) override {
    if (left_-- > 0)
      return make_error(errc::unavailable, "database unreachable");
    return inner_->put(bytes);
  }
  result<std::string> get(const std::string& ref) override {
    if (left_-- > 0)
      return make_error(errc::unavailable, "database unreachable");
    return inner_->get(ref);
  }

private:
  int left_;
  std::shared_ptr<blob_store> inner_ = make_memory_blob_store();
};

class task_run_steps : public ::testing::Test {
protected:
  task_run_steps() {
    ports_ = {rt_, workspaces_, make_memory_blob_store(), api::make_memory_task_log(), std::make_shared<manual_clock>(), {}};
    options_.workspace_root = ::testing::TempDir() + "ws";
    options_.rootfs = "/nonexistent-rootfs";
    options_.agents["echo"] = {"echo", {"echo", "working"}, "echo", {}, {}};
    options_.agents["crash"] = {"crash", {"exit", "3"}, "exit", {}, {}};
    options_.agents["missing"] = {"missing", {"no-such-cli"}, "no-such-cli", {}, {}};
    options_.agents["exits-127"] = {"exits-127", {"exit", "127"}, "exit", {}, {}};
  }

  static domain::task_spec spec_of(const std::string& agent, const std::string& verify = {}) {
    domain::task_spec spec;
    spec.agent_type = agent;
    spec.prompt = "do it";
    spec.repo = "/srv/repo.git";
    spec.base_ref = "main";
    spec.verify_command = verify;
    return spec;
  }

  void request(const domain::task_spec& spec, const std::string& id = "t1") {
    ASSERT_TRUE(host_.command(id, domain::request_task{task_id{id}, tenant_id{"acme"}, project_id{"p1"}, {}, spec, 1}, {}));
  }

  void request(const std::string& agent, const std::string& verify = {}) { request(spec_of(agent, verify)); }

  /// Everything task t1's log holds.
  std::string log_text() {
    std::string text;
    for (auto& c : ports_.logs->read(task_id{"t1"}, 0))
      text += c.text;
    return text;
  }

  std::shared_ptr<sandbox_runtime> rt_ = make_memory_sandbox_runtime();
  std::shared_ptr<fake_workspaces> workspaces_ = std::make_shared<fake_workspaces>();
  fake_host host_{rt_};
  execution_ports ports_;
  execution_options options_;
};

using types = std::vector<std::string>;

TEST_F(task_run_steps, a_task_naming_model_providers_is_placed_only_on_the_node_of_the_gateway) {
  auto spec = spec_of("echo");
  spec.model_providers = {"anthropic"};
  request(spec);
  EXPECT_TRUE(placement_for(host_.state, ports_, node_id{"cp"}).only_on.empty()) << "no gateway: any node";
  ports_.gateway = std::make_shared<aetherium::testing::closed_model_gateway>();
  EXPECT_EQ(placement_for(host_.state, ports_, node_id{"cp"}).only_on.str(), "cp");
  run_task(host_, ports_, options_, node_id{"cp"}, "t1", run_mode::fresh);
  ASSERT_FALSE(host_.asked.empty());
  for (auto& r : host_.asked)
    EXPECT_EQ(r.only_on.str(), "cp") << "its sandbox must reach the gateway's socket in this process";

  host_.state = {};
  request(spec_of("echo"), "t2");
  EXPECT_TRUE(placement_for(host_.state, ports_, node_id{"cp"}).only_on.empty()) << "any node runs a task without models";
}

TEST_F(task_run_steps, a_successful_agent_run_ends_with_its_output_stored_for_the_code_host_loop) {
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types, (types{"task.requested", "task.scheduled", "task.sandbox_provisioned", "task.started",
                                "task.output_collected"}))
    << "publishing and completing are the code-host loop's";
  EXPECT_EQ(host_.state.output->insertions, 1u);
  EXPECT_EQ(host_.state.output->deletions, 1u);
  EXPECT_EQ(host_.state.output->patch_ref.rfind("sha256:", 0), 0u);
  auto text = log_text();
  EXPECT_NE(text.find("working"), std::string::npos) << text;
  EXPECT_EQ(host_.released, 1);
}

TEST_F(task_run_steps, the_prompt_reaches_the_workspace_through_the_workspace_port) {
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  ASSERT_EQ(workspaces_->written.count(options_.workspace_root + "/t1"), 1u);
  EXPECT_EQ(workspaces_->written[options_.workspace_root + "/t1"].prompt, "do it");
}

TEST_F(task_run_steps, a_secret_the_task_names_but_the_secret_store_lacks_fails_the_task) {
  auto secrets = make_memory_secret_store();
  ports_.secrets = secrets;
  auto spec = spec_of("echo");
  spec.secrets = {"api_key"};
  request(spec);
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_NE(host_.state.failure_detail.find("secret api_key is not configured"), std::string::npos)
    << host_.state.failure_detail;
}

TEST_F(task_run_steps, a_run_with_no_change_ends_with_its_empty_output_and_leaves_the_log_open) {
  workspaces_->changed = false;
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.output_collected");
  EXPECT_EQ(host_.state.output->files_changed, 0u);
  EXPECT_TRUE(host_.state.output->patch_ref.empty());
  EXPECT_EQ(host_.released, 1);
  EXPECT_TRUE(ports_.logs->append(task_id{"t1"}, "system", "the end\n").ok())
    << "the log was closed before the code-host loop could tell the end";
}

TEST_F(task_run_steps, a_crashing_agent_fails_the_task_with_agent_failed) {
  request("crash");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_EQ(host_.state.failure, domain::failure_reason::agent_failed);
}

TEST_F(task_run_steps, an_agent_missing_from_the_image_fails_with_agent_missing) {
  request("missing");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.state.failure, domain::failure_reason::agent_missing);
}

TEST_F(task_run_steps, an_agent_that_ran_and_exited_127_fails_with_agent_failed_and_its_status) {
  // A user script whose last command was not found exits 127 itself: the agent ran.
  request("exits-127");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.state.failure, domain::failure_reason::agent_failed);
  EXPECT_NE(host_.state.failure_detail.find("exited with status 127"), std::string::npos) << host_.state.failure_detail;
  EXPECT_EQ(log_text().find("is not in the sandbox image"), std::string::npos) << log_text();
}

TEST_F(task_run_steps, a_failed_verification_records_it_and_opens_no_pull_request) {
  request("echo", "make test"); // the in-memory runtime has no /bin/sh: the check fails
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types, (types{"task.requested", "task.scheduled", "task.sandbox_provisioned", "task.started",
                                "task.output_collected", "task.verification_failed", "task.failed"}));
  EXPECT_EQ(host_.state.failure, domain::failure_reason::verification_failed);
}

TEST_F(task_run_steps, a_task_found_running_after_a_restart_fails_with_control_plane_restart) {
  request("echo");
  ASSERT_TRUE(host_.command("t1", domain::schedule_task{node_id{"n1"}, 2}, {}));
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_EQ(host_.state.failure, domain::failure_reason::control_plane_restart);
}

TEST_F(task_run_steps, a_task_found_past_its_output_after_a_restart_is_left_to_the_code_host_loop) {
  request("echo");
  ASSERT_TRUE(host_.command("t1", domain::schedule_task{node_id{"n1"}, 2}, {}));
  ASSERT_TRUE(host_.command("t1", domain::record_sandbox{"s1", 3, true}, {}));
  ASSERT_TRUE(host_.command("t1", domain::collect_output{{}, 4}, {}));
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.types.back(), "task.output_collected") << "nothing is left for a run to do";
  EXPECT_FALSE(needs_placement(host_.state, run_mode::recover)) << "it would hold a node for nothing";
}

TEST_F(task_run_steps, a_task_found_with_a_failed_verification_after_a_restart_fails) {
  request("echo", "make test");
  ASSERT_TRUE(host_.command("t1", domain::schedule_task{node_id{"n1"}, 2}, {}));
  ASSERT_TRUE(host_.command("t1", domain::record_sandbox{"s1", 3, true}, {}));
  ASSERT_TRUE(host_.command("t1", domain::collect_output{{}, 4}, {}));
  ASSERT_TRUE(host_.command("t1", domain::record_verification{false, 2, "", 5}, {}));
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_EQ(host_.state.failure, domain::failure_reason::verification_failed);
}

TEST_F(task_run_steps, a_task_still_requested_after_a_restart_runs_normally) {
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.types.back(), "task.output_collected");
}

TEST_F(task_run_steps, a_cancel_before_the_run_terminates_the_task) {
  request("echo");
  ASSERT_TRUE(host_.command("t1", domain::cancel_task{"someone", 2}, {}));
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.terminated");
}

} // namespace

TEST_F(task_run_steps, the_checkout_is_bounded_by_the_tasks_tenant_disk_limit_and_deadline) {
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  auto& r = workspaces_->last_request;
  EXPECT_EQ(r.tenant, tenant_id{"acme"});
  EXPECT_EQ(r.repo, "/srv/repo.git");
  EXPECT_EQ(r.disk_bytes, domain::task_limits{}.disk_bytes);
  EXPECT_LT(r.deadline, std::chrono::steady_clock::now() + std::chrono::hours(1));
  ASSERT_TRUE(r.cancelled);
  EXPECT_FALSE(r.cancelled()) << "a checkout the agent waited for was stopped";
  EXPECT_EQ(workspaces_->prepared, (std::vector<std::string>{options_.workspace_root + "/t1"}));
  EXPECT_NE(std::find(workspaces_->released.begin(), workspaces_->released.end(), options_.workspace_root + "/t1"),
            workspaces_->released.end()) << "the workspace outlived its task";
}

TEST_F(task_run_steps, a_failed_checkout_never_starts_the_agent_and_fails_with_workspace_error) {
  workspaces_->checkout_fails = true;
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types, (types{"task.requested", "task.scheduled", "task.failed"}));
  EXPECT_EQ(host_.state.failure, domain::failure_reason::workspace_error);
  auto text = log_text();
  EXPECT_EQ(text.find("working"), std::string::npos) << "the agent ran without its workspace";
}

TEST_F(task_run_steps, a_workspace_filled_to_its_disk_limit_fails_the_task_with_budget_exceeded) {
  workspaces_->full = true;
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_EQ(host_.state.failure, domain::failure_reason::budget_exceeded);
}

TEST_F(task_run_steps, a_server_stopping_while_the_agent_runs_fails_the_task_with_its_reason) {
  host_.stop_in_sandbox = true;
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.failed");
  EXPECT_EQ(host_.state.failure, domain::failure_reason::control_plane_restart);
  EXPECT_NE(host_.state.failure_detail.find("server was stopped while the task was running: its agent's sandbox did not survive"), std::string::npos)
    << host_.state.failure_detail;
  EXPECT_EQ(host_.released, 1);
}

TEST_F(task_run_steps, a_server_stopping_before_the_task_is_placed_leaves_it_requested) {
  host_.stopping = true;
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types, (types{"task.requested"})) << "the next start runs it";
}

TEST_F(task_run_steps, a_stop_before_verification_leaves_the_task_and_the_next_start_verifies_it) {
  host_.stop_after = "task.output_collected";
  request("echo", "make test");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.output_collected") << "a task with its agent's work stored was failed";
  EXPECT_NE(log_text().find("resumes from output_collected"), std::string::npos) << log_text();
  EXPECT_TRUE(needs_placement(host_.state, run_mode::recover)) << "its verification needs a sandbox";

  host_.stopping = false; // the next start
  host_.stop_after.clear();
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.types, (types{"task.requested", "task.scheduled", "task.sandbox_provisioned", "task.started",
                                "task.output_collected", "task.verification_failed", "task.failed"}))
    << "the in-memory runtime has no /bin/sh: the verification that resumed fails";
  ASSERT_EQ(workspaces_->replayed.size(), 1u) << "the change was not rebuilt from the stored patch";
  EXPECT_EQ(workspaces_->replayed[0], "--- a/a.txt\n+++ b/a.txt\n-old\n+new\n");
  EXPECT_NE(log_text().find("resuming after a restart"), std::string::npos) << log_text();
}

TEST_F(task_run_steps, a_task_found_scheduled_after_a_restart_says_why_it_is_not_resumed) {
  request("echo");
  ASSERT_TRUE(host_.command("t1", domain::schedule_task{node_id{"n1"}, 2}, {}));
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::recover);
  EXPECT_EQ(host_.state.failure, domain::failure_reason::control_plane_restart);
  EXPECT_NE(host_.state.failure_detail.find("not run twice"), std::string::npos) << host_.state.failure_detail;
}

TEST_F(task_run_steps, the_patch_is_stored_once_the_blob_store_is_back) {
  ports_.blobs = std::make_shared<flaky_blobs>(3);
  request("echo");
  run_task(host_, ports_, options_, node_id{"n1"}, "t1", run_mode::fresh);
  EXPECT_EQ(host_.types.back(), "task.output_collected");
  EXPECT_EQ(host_.state.output->patch_ref.rfind("sha256:", 0), 0u);
  EXPECT_NE(log_text().find("retrying until the store is back"), std::string::npos) << log_text();
}
