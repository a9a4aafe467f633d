#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "tests/integration/sandbox/sandbox_fixture.hpp"

namespace aetherium::sandbox_testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class lifecycle : public sandbox_fixture {};

TEST_P(lifecycle, runs_a_command_and_streams_its_output_and_status) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->sh(*h, "echo out; echo err >&2; pwd; exit 3");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "out\n/workspace\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->status.exit_code, 3);
  EXPECT_EQ(r->status.signal, 0);
  EXPECT_FALSE(r->status.oom_killed);
  EXPECT_FALSE(r->status.timed_out);
}

TEST_P(lifecycle, refuses_commands_it_cannot_pass_on_and_keeps_working) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto exec = [&](exec_request r) { return rt().exec(*h, r); };
  exec_request nul_arg;
  nul_arg.argv = {"echo", std::string("a\0b", 3)};
  exec_request nul_env;
  nul_env.argv = {"true"};
  nul_env.env = {{"KEY", std::string("x\0y", 3)}};
  exec_request bad_name;
  bad_name.argv = {"true"};
  bad_name.env = {{"1BAD", "x"}};
  exec_request relative_cwd;
  relative_cwd.argv = {"true"};
  relative_cwd.cwd = "workspace";
  for (auto* r : {&nul_arg, &nul_env, &bad_name, &relative_cwd})
    EXPECT_EQ(exec(*r).err().code, errc::invalid_argument);
  auto still = env_->sh(*h, "echo fine");
  ASSERT_TRUE(still.ok()) << still.err().detail;
  EXPECT_EQ(still->out, "fine\n");
}

TEST_P(lifecycle, passes_stdin_and_environment_without_a_shell) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->run(*h, {"cat"}, 30s, "piped input");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "piped input");
  exec_request request;
  request.argv = {"/bin/sh", "-c", "echo \"$GREETING\" \"$0\"", "a b;c"};
  request.env = {{"GREETING", "hello $(id)"}};
  std::string out;
  request.on_output = [&](output_stream, std::string_view c) { out.append(c); };
  auto status = rt().exec(*h, request);
  ASSERT_TRUE(status.ok()) << status.err().detail;
  EXPECT_EQ(out, "hello $(id) a b;c\n");
}

TEST_P(lifecycle, reports_a_command_killed_by_a_signal) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->sh(*h, "kill -SEGV $$");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->status.signal, SIGSEGV);
  EXPECT_EQ(r->status.exit_code, 128 + SIGSEGV);
  auto after = env_->sh(*h, "echo still usable");
  ASSERT_TRUE(after.ok()) << after.err().detail;
  EXPECT_EQ(after->out, "still usable\n");
}

TEST_P(lifecycle, copies_files_in_and_out_of_the_workspace) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  ASSERT_TRUE(rt().copy_in(*h, "/workspace/in.txt", "from host", 0640).ok());
  auto r = env_->sh(*h, "stat -c '%u:%g %a' in.txt; cat in.txt; echo -n made > out.txt");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "1000:1000 640\nfrom host");
  auto out = rt().copy_out(*h, "/workspace/out.txt");
  ASSERT_TRUE(out.ok()) << out.err().detail;
  EXPECT_EQ(*out, "made");
  EXPECT_EQ(rt().copy_out(*h, "/etc/passwd").err().code, errc::invalid_argument);
}

TEST_P(lifecycle, does_not_let_a_planted_symlink_leak_host_files) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->sh(*h, "ln -s /etc/shadow leak; mkdir d; ln -s / d/root");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_FALSE(rt().copy_out(*h, "/workspace/leak").ok());
  EXPECT_FALSE(rt().copy_out(*h, "/workspace/d/root/etc/shadow").ok());
}

TEST_P(lifecycle, kills_the_whole_sandbox_at_the_deadline) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto started = std::chrono::steady_clock::now();
  auto r = env_->sh(*h, "sleep 60 & sleep 60", 500ms);
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_TRUE(r->status.timed_out);
  EXPECT_FALSE(r->status.cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  auto again = env_->sh(*h, "true");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::invalid_transition);
  EXPECT_TRUE(eventually([&] {
    auto s = rt().stats(*h);
    return s.ok() && s->pids == 0;
  })) << "processes survived the deadline";
}

TEST_P(lifecycle, cancel_ends_a_running_command_promptly) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  std::atomic<bool> started{false};
  std::string out;
  exec_request request;
  request.argv = {"/bin/sh", "-c", "echo started; sleep 60"};
  request.on_output = [&](output_stream, std::string_view chunk) {
    out.append(chunk);
    started = true;
  };
  result<exit_status> status = make_error(errc::internal, "not run");
  std::thread runner([&] { status = rt().exec(*h, request); });
  bool saw_start = eventually([&] { return started.load(); });
  auto cancelled_at = std::chrono::steady_clock::now();
  auto cancelled = rt().cancel(*h);
  runner.join();
  ASSERT_TRUE(saw_start) << "the command never started";
  ASSERT_TRUE(cancelled.ok()) << cancelled.err().detail;
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 10s);
  ASSERT_TRUE(status.ok()) << status.err().detail;
  EXPECT_TRUE(status->cancelled);
  EXPECT_FALSE(status->timed_out);
  EXPECT_EQ(out, "started\n");
  EXPECT_EQ(env_->sh(*h, "true").err().code, errc::invalid_transition);
}

TEST_P(lifecycle, signal_reaches_the_commands_but_not_the_init) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  std::atomic<bool> started{false};
  std::string out;
  exec_request request;
  request.argv = {"/bin/sh", "-c", "trap 'echo got TERM; exit 5' TERM; echo ready; "
                                   "while :; do sleep 1; done"};
  request.deadline = std::chrono::steady_clock::now() + 60s;
  request.on_output = [&](output_stream which, std::string_view chunk) {
    if (which == output_stream::out) out.append(chunk);
    started = true;
  };
  result<exit_status> status = make_error(errc::internal, "not run");
  std::thread runner([&] { status = rt().exec(*h, request); });
  bool saw_start = eventually([&] { return started.load(); });
  auto signalled = rt().signal(*h, SIGTERM);
  runner.join();
  ASSERT_TRUE(saw_start);
  ASSERT_TRUE(signalled.ok()) << signalled.err().detail;
  ASSERT_TRUE(status.ok()) << status.err().detail;
  EXPECT_EQ(status->exit_code, 5);
  EXPECT_FALSE(status->timed_out);
  EXPECT_EQ(out, "ready\ngot TERM\n");
  auto after = env_->sh(*h, "echo init survived");
  ASSERT_TRUE(after.ok()) << after.err().detail;
  EXPECT_EQ(after->out, "init survived\n");
}

TEST_P(lifecycle, destroy_removes_container_cgroups_mounts_and_bundle) {
  auto spec = env_->spec();
  spec.secrets = {{"token", "abc"}};
  spec.limits.workspace_bytes = 8ull << 20;
  auto h = rt().provision(spec);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->sh(*h, "sleep 60 >/dev/null 2>&1 & echo ok");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_FALSE(env_->leftover_cgroups().empty());
  EXPECT_FALSE(env_->leftover_mounts().empty());
  ASSERT_TRUE(rt().destroy(*h).ok());
  EXPECT_TRUE(env_->leftover_cgroups().empty()) << env_->leftover_cgroups().front();
  EXPECT_TRUE(env_->leftover_mounts().empty()) << env_->leftover_mounts().front();
  EXPECT_TRUE(env_->runtime_containers().empty()) << env_->runtime_containers().front();
  EXPECT_FALSE(fs::exists(env_->sandbox_dir(h->id)));
  auto listed = rt().list();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(rt().destroy(*h).ok()) << "destroy must be idempotent";
  EXPECT_EQ(rt().stats(*h).err().code, errc::not_found);
  EXPECT_EQ(env_->sh(*h, "true").err().code, errc::not_found);
}

/// Provisions a sandbox with an adapter that then goes away without destroying it: what
/// a crashed control plane leaves behind. Returns its id.
std::string leave_an_orphan(sandbox_env& env) {
  auto spec = env.spec();
  spec.labels = {{"task", "t-42"}};
  spec.secrets = {{"k", "v"}};
  spec.limits.workspace_bytes = 4ull << 20;
  auto crashed = env.reopen(false);
  EXPECT_TRUE(crashed.ok()) << crashed.err().detail;
  if (!crashed) return {};
  auto h = (*crashed)->provision(spec);
  EXPECT_TRUE(h.ok()) << h.err().detail;
  return h ? h->id : std::string();
}

TEST_P(lifecycle, a_restarted_adapter_lists_orphans_with_their_labels_for_reaping) {
  std::string id = leave_an_orphan(*env_);
  ASSERT_FALSE(id.empty());
  auto restarted = env_->reopen(false);
  ASSERT_TRUE(restarted.ok());
  auto found = (*restarted)->list();
  ASSERT_TRUE(found.ok()) << found.err().detail;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().handle.id, id);
  EXPECT_EQ(found->front().handle.runtime, GetParam().kind);
  EXPECT_EQ(found->front().labels.at("task"), "t-42");
  EXPECT_TRUE(found->front().running);
  ASSERT_TRUE((*restarted)->destroy(found->front().handle).ok());
  EXPECT_TRUE((*restarted)->list()->empty());
  EXPECT_TRUE(env_->leftover_cgroups().empty());
  EXPECT_TRUE(env_->leftover_mounts().empty());
  EXPECT_TRUE(env_->runtime_containers().empty());
}

TEST_P(lifecycle, a_restarted_adapter_reaps_orphans_at_start) {
  ASSERT_FALSE(leave_an_orphan(*env_).empty());
  EXPECT_FALSE(env_->leftover_mounts().empty());
  auto restarted = env_->reopen(true);
  ASSERT_TRUE(restarted.ok());
  EXPECT_TRUE((*restarted)->list()->empty());
  EXPECT_TRUE(env_->leftover_cgroups().empty());
  EXPECT_TRUE(env_->leftover_mounts().empty());
  EXPECT_TRUE(env_->runtime_containers().empty());
}

TEST_P(lifecycle, reports_resource_use) {
  auto h = rt().provision(env_->spec());
  ASSERT_TRUE(h.ok()) << h.err().detail;
  auto r = env_->sh(*h, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  auto s = rt().stats(*h);
  ASSERT_TRUE(s.ok()) << s.err().detail;
  EXPECT_GT(s->memory_bytes, 0u);
  EXPECT_GT(s->cpu_ns, 0u);
  EXPECT_GE(s->pids, 1u);
}

TEST_P(lifecycle, refuses_root_and_bad_specs) {
  auto spec = env_->spec();
  spec.uid = 0;
  EXPECT_EQ(rt().provision(spec).err().code, errc::invalid_argument);
  spec = env_->spec();
  spec.rootfs_dir = "relative/dir";
  EXPECT_EQ(rt().provision(spec).err().field, "rootfs_dir");
  spec = env_->spec();
  spec.secrets = {{"../escape", "x"}};
  EXPECT_EQ(rt().provision(spec).err().field, "secrets");
  spec = env_->spec();
  spec.labels = {{"task", std::string("\xff")}};
  EXPECT_EQ(rt().provision(spec).err().code, errc::invalid_argument);
  EXPECT_TRUE(rt().list()->empty());
  EXPECT_TRUE(env_->leftover_cgroups().empty());
}

INSTANTIATE_TEST_SUITE_P(runtimes, lifecycle, AETHERIUM_ALL_RUNTIMES, runtime_param_name);

} // namespace
} // namespace aetherium::sandbox_testing
