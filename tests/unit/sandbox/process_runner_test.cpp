#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "adapters/sandbox/process_runner.hpp"

using aetherium::errc;
using aetherium::output_stream;
using namespace aetherium::sandbox;
using namespace std::chrono_literals;

namespace {

process_request shell(const std::string& script) {
  process_request r;
  r.argv = {"/bin/sh", "-c", script};
  r.env = {"PATH=/usr/bin:/bin"};
  return r;
}

} // namespace

TEST(process_runner, captures_stdout_stderr_and_the_exit_code) {
  auto run = run_captured(shell("echo out; echo err >&2; exit 7"));
  ASSERT_TRUE(run.ok()) << run.err().detail;
  EXPECT_EQ(run->out, "out\n");
  EXPECT_EQ(run->err, "err\n");
  EXPECT_EQ(run->outcome.exit_code, 7);
  EXPECT_EQ(run->outcome.signal, 0);
}

TEST(process_runner, feeds_stdin_larger_than_a_pipe_buffer) {
  auto r = shell("wc -c");
  r.stdin_data.assign(1 << 20, 'x');
  auto run = run_captured(r);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(std::stoul(run->out), 1u << 20);
}

TEST(process_runner, feeds_a_child_that_splices_its_stdin_into_its_stdout) {
  // busybox cat copies with sendfile: while it waits for input it holds its stdout pipe's
  // lock, so the runner must write before it reads, and read only what poll says is there.
  process_request r;
  r.argv = {"/bin/busybox", "cat"};
  r.stdin_data.assign(16 << 20, 'x');
  std::size_t got = 0;
  r.on_output = [&](output_stream, std::string_view chunk) { got += chunk.size(); };
  for (int round = 0; round < 5; ++round) {
    got = 0;
    auto run = run_process(r);
    ASSERT_TRUE(run.ok()) << run.err().detail;
    EXPECT_EQ(got, r.stdin_data.size());
  }
}

TEST(process_runner, survives_a_child_that_ignores_its_stdin) {
  auto r = shell("exit 0");
  r.stdin_data.assign(4 << 20, 'x');
  auto run = run_captured(r);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome.exit_code, 0);
}

TEST(process_runner, reports_a_killing_signal_as_128_plus_signal) {
  auto run = run_captured(shell("kill -TERM $$"));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->outcome.signal, SIGTERM);
  EXPECT_EQ(run->outcome.exit_code, 128 + SIGTERM);
}

TEST(process_runner, passes_only_the_given_environment) {
  auto r = shell("env");
  r.env = {"ONLY=1"};
  auto run = run_captured(r);
  ASSERT_TRUE(run.ok());
  EXPECT_NE(run->out.find("ONLY=1"), std::string::npos);
  EXPECT_EQ(run->out.find("HOME="), std::string::npos);
}

TEST(process_runner, kills_the_child_at_the_deadline) {
  auto r = shell("exec sleep 30");
  r.deadline = std::chrono::steady_clock::now() + 100ms;
  auto started = std::chrono::steady_clock::now();
  auto run = run_captured(r);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->outcome.deadline_reached);
  EXPECT_EQ(run->outcome.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(process_runner, calls_on_deadline_and_then_waits_for_the_child) {
  auto r = shell("trap 'exit 3' TERM; while :; do sleep 0.01; done");
  pid_t child = -1;
  r.on_pid = [&](pid_t pid) { if (pid > 0) child = pid; };
  bool called = false;
  r.on_deadline = [&] { called = true; ::kill(child, SIGTERM); };
  r.deadline = std::chrono::steady_clock::now() + 100ms;
  auto run = run_captured(r);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(called);
  EXPECT_TRUE(run->outcome.deadline_reached);
  EXPECT_EQ(run->outcome.exit_code, 3);
}

TEST(process_runner, returns_when_the_child_exits_even_if_a_grandchild_holds_the_pipes) {
  auto started = std::chrono::steady_clock::now();
  auto run = run_captured(shell("sleep 30 & echo done"));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->out, "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(process_runner, reports_a_missing_program_as_unavailable) {
  process_request r;
  r.argv = {"/nonexistent/program"};
  auto run = run_process(r);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.err().code, errc::unavailable);
  process_request relative;
  relative.argv = {"sh"};
  EXPECT_EQ(run_process(relative).err().code, errc::invalid_argument);
}

TEST(process_runner, streams_chunks_in_order) {
  std::string seen;
  auto r = shell("for i in 1 2 3; do echo $i; done");
  r.on_output = [&](output_stream which, std::string_view chunk) {
    if (which == output_stream::out) seen.append(chunk);
  };
  ASSERT_TRUE(run_process(r).ok());
  EXPECT_EQ(seen, "1\n2\n3\n");
}
