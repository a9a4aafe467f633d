// `aetherium task logs -f` against a real server that goes away: it reconnects and
// resumes without repeating output, gives up after --reconnect-timeout, and Ctrl-C says
// the task keeps running.
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// One `aetherium` client process with its stdout and stderr in files.
class client_process {
public:
  client_process(const std::string& dir, const std::string& server, const std::string& token,
                 std::vector<std::string> args)
    : out_(dir + "/client.out"), err_(dir + "/client.err") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      ::dup2(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      ::setenv("AETHERIUM_SERVER", server.c_str(), 1);
      ::setenv("AETHERIUM_TOKEN", token.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(AETHERIUM_BINARY)};
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(AETHERIUM_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~client_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  /// Polls until `done` holds for stdout, for at most `limit`.
  bool wait_for_output(const std::string& what, std::chrono::seconds limit) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (out().find(what) != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  /// The exit code once the client ended within `limit` (128 + signal when killed), or -1.
  int wait_exit(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

private:
  std::string out_, err_;
  pid_t pid_ = -1;
};

class follow : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    key_ = server_->admin_key("acme");
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
    project_ = create_sample_project(*api_, repo_);
    ASSERT_FALSE(project_.empty());
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  std::string create_task(const std::string& script) {
    auto r = api_->create_task(json{{"project", project_}, {"agent_type", "script"}, {"prompt", script}}.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, key_, project_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

TEST_F(follow, a_restarted_server_is_reconnected_to_and_the_log_resumes_without_repeats) {
  auto id = create_task("echo first-line\nsleep 60\n");
  client_process client{work_.path, server_->base_url(), key_, {"task", "logs", id, "-f"}};
  ASSERT_TRUE(client.wait_for_output("first-line", std::chrono::seconds(60))) << client.out() << client.err();
  server_->kill(SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(4)); // longer than the old client waited
  ASSERT_NO_FATAL_FAILURE(server_->start(true));
  // After the restart the task is failed (its sandbox is gone) and its log ends.
  int rc = client.wait_exit(std::chrono::seconds(60));
  auto out = client.out(), err = client.err();
  EXPECT_EQ(rc, 1) << "the task failed\n" << out << err;
  EXPECT_EQ(count_of(out, "first-line"), 1u) << out;
  EXPECT_NE(out.find("control_plane_restart"), std::string::npos) << "the rest of the log arrived\n" << out;
  EXPECT_EQ(count_of(err, "lost"), 1u) << err;
  EXPECT_NE(err.find("reconnecting"), std::string::npos) << err;
}

TEST_F(follow, a_server_gone_for_longer_than_the_reconnect_timeout_is_given_up_on_clearly) {
  auto id = create_task("echo first-line\nsleep 60\n");
  client_process client{work_.path, server_->base_url(), key_, {"task", "logs", id, "-f", "--reconnect-timeout", "3"}};
  ASSERT_TRUE(client.wait_for_output("first-line", std::chrono::seconds(60))) << client.out() << client.err();
  auto lost_at = std::chrono::steady_clock::now();
  server_->kill(SIGKILL);
  int rc = client.wait_exit(std::chrono::seconds(30));
  EXPECT_EQ(rc, 1) << client.err();
  EXPECT_GE(std::chrono::steady_clock::now() - lost_at, std::chrono::seconds(3)) << "it gave up too early";
  EXPECT_NE(client.err().find("gave up following after 3 s"), std::string::npos) << client.err();
  EXPECT_NE(client.err().find("aetherium task logs " + id + " -f"), std::string::npos) << client.err();
}

TEST_F(follow, ctrl_c_says_the_task_keeps_running_and_how_to_follow_or_cancel_it) {
  auto id = create_task("echo first-line\nsleep 60\n");
  client_process client{work_.path, server_->base_url(), key_, {"task", "logs", id, "--follow"}};
  ASSERT_TRUE(client.wait_for_output("first-line", std::chrono::seconds(60))) << client.out() << client.err();
  client.signal(SIGINT);
  EXPECT_EQ(client.wait_exit(std::chrono::seconds(10)), 130);
  auto err = client.err();
  EXPECT_NE(err.find("task " + id + " keeps running"), std::string::npos) << err;
  EXPECT_NE(err.find("aetherium task logs " + id + " -f"), std::string::npos) << err;
  EXPECT_NE(err.find("aetherium task cancel " + id), std::string::npos) << err;
  auto t = api_->get_task(id);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(json::parse(*t).value("status", ""), "running");
  ASSERT_TRUE(api_->cancel_task(id).ok());
}

TEST_F(follow, a_misspelled_option_is_a_usage_error_and_task_create_help_lists_the_options) {
  auto wrong = run_command(AETHERIUM_BINARY " task create --project " + project_ + " --agent script --prompt true --timout 1");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("unknown option --timout"), std::string::npos) << wrong.output;
  EXPECT_NE(wrong.output.find("did you mean --timeout?"), std::string::npos) << wrong.output;
  EXPECT_EQ(json::parse(*api_->list_tasks({})).at("tasks").size(), 0u) << "nothing was created";
  auto help = run_command(AETHERIUM_BINARY " task create --help");
  EXPECT_EQ(help.exit_code, 0);
  for (auto option : {"--timeout", "--memory", "--follow", "--reconnect-timeout", "--prompt-file"})
    EXPECT_NE(help.output.find(option), std::string::npos) << option;
}

} // namespace
