// Many sandboxes ending every way a sandbox can end, then nothing may be left behind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::sandbox_testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Loop devices whose backing file lies below `dir`.
std::vector<std::string> loops_backed_below(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& dev : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream backing(dev.path() / "loop" / "backing_file");
    std::string file;
    if (std::getline(backing, file) && file.compare(0, dir.size(), dir) == 0)
      found.push_back(dev.path().filename().string() + " -> " + file);
  }
  return found;
}

enum class ending { exits, crashes, times_out, is_cancelled };

/// Runs one sandbox to its ending; returns a failure description or "".
std::string run_one(sandbox_env& env, int i) {
  auto& rt = env.runtime();
  auto spec = env.spec();
  spec.secrets = {{"token", "churn-secret-" + std::to_string(i)}};
  if (i % 5 == 0) spec.limits.workspace_bytes = 4ull << 20;
  auto h = rt.provision(spec);
  if (!h) return "provision: " + h.err().detail;
  auto kind = static_cast<ending>(i % 4);
  std::string failure;
  if (kind == ending::exits || kind == ending::crashes || kind == ending::times_out) {
    std::string script = kind == ending::exits ? "cat /run/secrets/token; echo" :
                         kind == ending::crashes ? "kill -SEGV $$" : "sleep 30";
    auto r = env.sh(*h, script, kind == ending::times_out ? 200ms : 30s);
    if (!r) failure = "exec: " + r.err().detail;
    else if (kind == ending::exits && r->out != "[REDACTED]\n") failure = "output: " + r->out;
    else if (kind == ending::crashes && r->status.signal != SIGSEGV) failure = "no SIGSEGV";
    else if (kind == ending::times_out && !r->status.timed_out) failure = "no timeout";
  } else {
    std::atomic<bool> started{false};
    exec_request request;
    request.argv = {"/bin/sh", "-c", "echo started; sleep 30"};
    request.on_output = [&](output_stream, std::string_view) { started = true; };
    result<exit_status> status = make_error(errc::internal, "not run");
    std::thread runner([&] { status = rt.exec(*h, request); });
    eventually([&] { return started.load(); });
    auto cancelled = rt.cancel(*h);
    runner.join();
    if (!cancelled || !status || !status->cancelled) failure = "cancel did not end the command";
  }
  auto destroyed = rt.destroy(*h);
  if (!destroyed) failure += " destroy: " + destroyed.err().detail;
  return failure;
}

TEST(sandbox_churn, two_hundred_crun_sandboxes_leave_nothing_behind) {
  auto made = sandbox_env::make(sandbox_runtime_kind::crun);
  ASSERT_TRUE(made.ok()) << "cannot run sandbox tests: " << made.err().detail;
  auto& env = **made;
  constexpr int total = 200;
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < total; i = next++) {
        std::string failure = run_one(env, i);
        if (failure.empty()) continue;
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back("sandbox " + std::to_string(i) + ": " + failure);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();

  auto listed = env.runtime().list();
  ASSERT_TRUE(listed.ok()) << listed.err().detail;
  EXPECT_TRUE(listed->empty()) << listed->size() << " sandboxes still listed";
  EXPECT_TRUE(env.runtime_containers().empty()) << "crun still lists " << env.runtime_containers().front();
  EXPECT_TRUE(env.leftover_cgroups().empty()) << env.leftover_cgroups().front();
  EXPECT_TRUE(env.leftover_mounts().empty()) << env.leftover_mounts().front();
  EXPECT_TRUE(loops_backed_below(env.state_dir()).empty()) << loops_backed_below(env.state_dir()).front();
  EXPECT_TRUE(fs::is_empty(env.state_dir() + "/sandboxes"));
}

} // namespace
} // namespace aetherium::sandbox_testing
