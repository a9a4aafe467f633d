// The host <-> init protocol, and the init serving commands over it. The init runs here
// on the host as a plain process (no container): what is checked is the protocol, the
// stdio plumbing and the exit statuses, not the sandbox around it.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/sandbox/init_channel.hpp"
#include "adapters/sandbox/init_protocol.hpp"
#include "adapters/sandbox/process_runner.hpp"

namespace aetherium::sandbox {
namespace {

using init_protocol::command;

TEST(init_protocol, round_trips_a_command) {
  command in{"/workspace", {"sh", "-c", "echo 'a b'"}, {"PATH=/bin", "EMPTY="}};
  command out;
  ASSERT_TRUE(init_protocol::decode_command(init_protocol::encode_command(in), out));
  EXPECT_EQ(out.cwd, in.cwd);
  EXPECT_EQ(out.argv, in.argv);
  EXPECT_EQ(out.env, in.env);
}

TEST(init_protocol, refuses_malformed_bodies) {
  command out;
  EXPECT_FALSE(init_protocol::decode_command("", out));
  EXPECT_FALSE(init_protocol::decode_command(init_protocol::encode_command({"/", {}, {}}), out)) << "empty argv";
  EXPECT_FALSE(init_protocol::decode_command(init_protocol::encode_command({"/", {""}, {}}), out)) << "empty argv[0]";
  auto body = init_protocol::encode_command({"/", {"true"}, {"A=1"}});
  EXPECT_FALSE(init_protocol::decode_command(body.substr(0, body.size() - 1), out)) << "truncated";
  EXPECT_FALSE(init_protocol::decode_command(body + "x", out)) << "trailing bytes";
  std::string huge = body;
  huge[0] = '\xff';
  huge[1] = '\xff';
  EXPECT_FALSE(init_protocol::decode_command(huge, out)) << "argc beyond the body";
}

class served_init : public ::testing::Test {
protected:
  void SetUp() override {
    auto opened = init_channel::open();
    ASSERT_TRUE(opened.ok()) << opened.err().detail;
    channel_ = std::make_unique<init_channel>(std::move(*opened));
    process_request init;
    init.argv = {AETHERIUM_SANDBOX_INIT, "--serve-fd=3"};
    init.pass_fd = channel_->init_end();
    auto pid = spawn_daemon(init, "/dev/null");
    ASSERT_TRUE(pid.ok()) << pid.err().detail;
    pid_ = *pid;
    channel_->close_init_end();
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  struct ran {
    process_outcome outcome;
    std::string out, err;
    int spawn_errno = 0;
    int exec_errno = 0;
  };
  ran run(command cmd, std::string stdin_data = {}) {
    ran r;
    auto started = channel_->start(cmd, !stdin_data.empty());
    EXPECT_TRUE(started.ok()) << started.err().detail;
    if (!started) return r;
    process_request request;
    request.stdin_data = std::move(stdin_data);
    request.on_output = [&r](output_stream s, std::string_view chunk) { (s == output_stream::out ? r.out : r.err).append(chunk); };
    auto outcome = run_attached(*started, request, [] {}, [&r](int session) {
      return init_channel::read_reply(session, r.spawn_errno, r.exec_errno);
    });
    EXPECT_TRUE(outcome.ok()) << outcome.err().detail;
    if (outcome) r.outcome = *outcome;
    return r;
  }

  std::unique_ptr<init_channel> channel_;
  pid_t pid_ = -1;
};

TEST_F(served_init, runs_a_command_with_its_env_cwd_stdin_and_exit_code) {
  auto r = run({"/tmp", {"sh", "-c", "pwd; echo $GREETING; cat; echo oops >&2; exit 7"},
                {"PATH=/usr/bin:/bin", "GREETING=hello"}},
               "from stdin\n");
  EXPECT_EQ(r.out, "/tmp\nhello\nfrom stdin\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(r.outcome.exit_code, 7);
  EXPECT_EQ(r.outcome.signal, 0);
}

TEST_F(served_init, reports_a_killing_signal_and_resets_ignored_signals) {
  // The init ignores SIGTERM; its children must not inherit that.
  auto r = run({"/", {"sh", "-c", "kill -TERM $$"}, {"PATH=/usr/bin:/bin"}});
  EXPECT_EQ(r.outcome.signal, SIGTERM);
  EXPECT_EQ(r.outcome.exit_code, 128 + SIGTERM);
}

TEST_F(served_init, runs_commands_side_by_side) {
  auto slow = channel_->start({"/", {"sleep", "1"}, {"PATH=/usr/bin:/bin"}}, false);
  ASSERT_TRUE(slow.ok());
  auto fast = run({"/", {"echo", "not blocked"}, {"PATH=/usr/bin:/bin"}});
  EXPECT_EQ(fast.out, "not blocked\n");
  int spawn_errno = 0, exec_errno = 0;
  auto outcome = run_attached(*slow, process_request{}, [] {}, [&](int s) { return init_channel::read_reply(s, spawn_errno, exec_errno); });
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 0);
}

TEST_F(served_init, says_why_a_command_cannot_start) {
  auto missing = run({"/", {"no-such-agent-cli"}, {"PATH=/usr/bin:/bin"}});
  EXPECT_EQ(missing.outcome.exit_code, 127);
  EXPECT_NE(missing.err.find("cannot execute no-such-agent-cli: No such file or directory"), std::string::npos)
      << missing.err;
  EXPECT_EQ(missing.exec_errno, ENOENT) << "the init says the command never ran";
  auto bad_cwd = run({"/no/such/dir", {"true"}, {"PATH=/usr/bin:/bin"}});
  EXPECT_EQ(bad_cwd.outcome.exit_code, 127);
  EXPECT_NE(bad_cwd.err.find("cannot enter /no/such/dir"), std::string::npos) << bad_cwd.err;
}

TEST_F(served_init, a_command_that_exits_127_itself_is_not_reported_as_missing) {
  auto r = run({"/", {"sh", "-c", "echo 'sh: nope: not found' >&2; exit 127"}, {"PATH=/usr/bin:/bin"}});
  EXPECT_EQ(r.outcome.exit_code, 127);
  EXPECT_EQ(r.exec_errno, 0) << "it ran: its own exit status, not an exec failure";
  auto denied = run({"/", {"/tmp"}, {"PATH=/usr/bin:/bin"}}); // a directory: EACCES
  EXPECT_EQ(denied.outcome.exit_code, 126);
  EXPECT_EQ(denied.exec_errno, EACCES);
}

TEST_F(served_init, a_dead_init_ends_running_commands_as_killed) {
  auto started = channel_->start({"/", {"sleep", "3"}, {"PATH=/usr/bin:/bin"}}, false);
  ASSERT_TRUE(started.ok());
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  int spawn_errno = 0, exec_errno = 0;
  auto outcome = run_attached(*started, process_request{}, [] {}, [&](int s) { return init_channel::read_reply(s, spawn_errno, exec_errno); });
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->signal, SIGKILL);
  EXPECT_FALSE(channel_->start({"/", {"true"}, {}}, false).ok()) << "a dead init must refuse new commands";
}

} // namespace
} // namespace aetherium::sandbox
