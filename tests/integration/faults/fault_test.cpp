// Faults injected into a running `aetherium server`, each ending with the same checks: no
// event lost or duplicated, no task left non-terminal, no sandbox or workspace left, the
// log's hash chain and projections intact. The server runs against a PostgreSQL of the
// test's own (started here) so the database can be stopped and restarted under it.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>

#include "tests/integration/e2e/server_process.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A PostgreSQL server of one test, on a free port, through the deploy scripts.
class private_postgres {
public:
  explicit private_postgres(std::string dir) : dir_(std::move(dir)), port_(free_port()) { start(); }
  ~private_postgres() { stop("immediate"); }

  void start() {
    auto out = shell("postgres_start '" + dir_ + "' " + std::to_string(port_));
    ASSERT_EQ(out.exit_code, 0) << "PostgreSQL did not start:\n" << out.output;
  }
  void stop(const std::string& mode = "fast") { shell("PG_DIR='" + dir_ + "' postgres_stop " + mode); }
  void restart() {
    auto out = run_command("runuser -u postgres -- $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl -D '"
                           + dir_ + "/data' -l '" + dir_ + "/server.log' -m fast -w restart -o '-p " + std::to_string(port_)
                           + " -k " + dir_ + " -c listen_addresses=127.0.0.1' 2>&1");
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }
  std::string url() const { return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres"; }

private:
  command_output shell(const std::string& what) const {
    return run_command("bash -c 'source " AETHERIUM_SOURCE_DIR "/deploy/lib/common.sh; source " AETHERIUM_SOURCE_DIR
                       "/deploy/lib/postgres.sh; " + what + "' 2>&1");
  }
  std::string dir_;
  int port_;
};

constexpr const char* edit_script = "set -e\nsed -i 's/Hello, world/Hello from Aetherium/' greeting.txt\n"
                                    "echo 'agent: done'\n";

class faults : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    pg_ = std::make_unique<private_postgres>(work_.path + "/pg");
    ASSERT_NO_FATAL_FAILURE(pg_->start());
    ASSERT_NO_FATAL_FAILURE(start_server());
    key_ = server_->admin_key("acme");
    ASSERT_FALSE(key_.empty());
    connect();
    auto project = api_->create_project(json{{"name", "sample"}, {"repo", repo_}, {"verify_command", "sh check.sh"}}.dump());
    ASSERT_TRUE(project.ok()) << project.err().detail;
    project_ = json::parse(*project).at("id");
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
    server_.reset();
    run_command("umount -l '" + work_.path + "/data' 2>/dev/null");
  }

  void start_server(const std::string& env = {}) {
    server_ = std::make_unique<server_process>(pg_->url(), work_.path + "/data", image_, env);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    connect();
  }
  void restart_server(int sig, const std::string& env = {}) {
    server_->kill(sig);
    ASSERT_NO_FATAL_FAILURE(start_server(env));
  }
  void connect() { api_ = std::make_unique<http::api_client>(http::client_options{server_ ? server_->base_url() : "", key_}); }

  std::string create_task(json body) {
    body["project"] = project_;
    body["agent_type"] = "script";
    auto r = api_->create_task(body.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  json wait_for(const std::string& id, const std::function<bool(const json&)>& done, int seconds = 120) {
    return wait_for_task(*api_, id, done, seconds);
  }
  json wait_terminal(const std::string& id) { return wait_for_task(*api_, id, ended); }

  std::vector<std::string> event_types(const std::string& id) { return task_event_types(*api_, id); }

  std::string task_log(const std::string& id) {
    auto r = api_->task_logs(id);
    return r ? *r : "";
  }
  std::string git(const std::string& args) { return run_command("git --git-dir='" + repo_ + "' " + args).output; }

  /// What every fault must leave: each task terminal with no event twice, no sandbox, no
  /// workspace, and a log whose chain and projections verify.
  void expect_nothing_lost_or_left(const std::vector<std::string>& tasks) {
    for (auto& id : tasks) {
      auto t = wait_terminal(id);
      auto types = event_types(id);
      ASSERT_FALSE(types.empty()) << id;
      EXPECT_EQ(types.front(), "task.requested") << id;
      std::map<std::string, int> seen;
      for (auto& type : types)
        EXPECT_EQ(++seen[type], 1) << id << ": " << type << " recorded twice";
      EXPECT_EQ(types.back(), "task." + t.value("status", "?")) << id << " shows a status its events do not end with";
    }
    // A run cleans up just after its terminal event: give it a moment.
    for (int i = 0; i < 50 && run_command("ls -A '" + work_.path + "/data/workspaces' 2>/dev/null | wc -l").output != "0\n"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto sandboxes = run_command("crun --root '" + work_.path + "/data/sandboxes/runtime/crun' list -q | wc -l");
    EXPECT_EQ(sandboxes.output, "0\n") << "sandboxes left behind";
    auto workspaces = run_command("ls -A '" + work_.path + "/data/workspaces' 2>/dev/null | wc -l");
    EXPECT_EQ(workspaces.output, "0\n") << "workspaces left behind: "
                                        << run_command("ls -A '" + work_.path + "/data/workspaces'").output;
    auto mounts = run_command("grep -c '" + work_.path + "/data/workspaces' /proc/mounts");
    EXPECT_EQ(mounts.output, "0\n") << "workspace filesystems left mounted";
    auto replay = server_->cli("replay --verify");
    EXPECT_EQ(replay.exit_code, 0) << replay.output;
  }

  temp_dir work_;
  std::unique_ptr<private_postgres> pg_;
  std::string image_, repo_, key_, project_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

TEST_F(faults, postgresql_stopped_for_10_s_mid_task_the_task_finishes_once_it_is_back) {
  // One task's agent leaves a patch (stored in the blob store), the other's changes
  // nothing (its next step is an event): both finish while the database is away.
  auto id = create_task({{"prompt", std::string{"sleep 3\n"} + edit_script}});
  auto quiet = create_task({{"prompt", "sleep 3; echo nothing to change"}, {"verify_command", "true"}});
  wait_for(id, [](const json& t) { return t.value("status", "") == "running"; });
  wait_for(quiet, [](const json& t) { return t.value("status", "") == "running"; });
  pg_->stop("fast");
  std::this_thread::sleep_for(std::chrono::seconds(10)); // the agent finishes meanwhile
  ASSERT_NO_FATAL_FAILURE(pg_->start());
  auto t = wait_terminal(id);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump() << "\n" << task_log(id);
  EXPECT_EQ(git("show 'aetherium/task-" + id + ":greeting.txt'"), "Hello from Aetherium\n") << "the agent's work was lost";
  EXPECT_EQ(wait_terminal(quiet).value("status", ""), "completed") << task_log(quiet);
  EXPECT_NE(server_->log_tail().find("unavailable, retrying"), std::string::npos) << "the outage is not in the log";
  auto metrics = api_->request("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->body.find("aetherium_event_append_failures_total{error=\"unavailable\"} 0\n"), std::string::npos)
    << "the appends refused during the outage were not counted";
  expect_nothing_lost_or_left({id, quiet});
}

TEST_F(faults, after_a_postgresql_restart_the_first_write_and_the_first_task_succeed) {
  ASSERT_NO_FATAL_FAILURE(pg_->restart());
  auto project = api_->create_project(json{{"name", "after-restart"}, {"repo", repo_}}.dump());
  ASSERT_TRUE(project.ok()) << "the first write after a restart failed: " << project.err().detail;
  auto id = create_task({{"prompt", edit_script}});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(wait_terminal(id).value("status", ""), "completed") << task_log(id);
  expect_nothing_lost_or_left({id});
}

TEST_F(faults, a_second_server_on_the_same_database_stands_by_and_touches_none_of_the_first_ones_tasks) {
  auto id = create_task({{"prompt", std::string{"sleep 4\n"} + edit_script}});
  wait_for(id, [](const json& t) { return t.value("status", "") == "running"; });
  auto env = [&](const std::string& data, int port) {
    return "AETHERIUM_DATABASE_URL='" + pg_->url() + "' AETHERIUM_DATA_DIR='" + data + "' AETHERIUM_IMAGE='" + image_
           + "' AETHERIUM_REPO_ROOTS='" + work_.path + "' AETHERIUM_LISTEN=127.0.0.1:" + std::to_string(port) + " ";
  };
  for (auto data : {work_.path + "/data", work_.path + "/data2"}) { // the same data directory, and another
    server_process second{pg_->url(), data, image_};
    ASSERT_NO_FATAL_FAILURE(second.start());
    http::api_client on_second{{second.base_url(), key_}};
    auto refused = on_second.create_project(json{{"name", "second"}, {"repo", repo_}}.dump());
    ASSERT_FALSE(refused.ok()) << "a standby took a write";
    EXPECT_EQ(refused.err().code, errc::unavailable) << refused.err().detail;
    EXPECT_NE(refused.err().detail.find("standby"), std::string::npos) << refused.err().detail;
    EXPECT_TRUE(on_second.get_task(id).ok()) << "the standby does not serve reads";
    second.kill(SIGTERM);
  }
  // The first server's port, on another database: refused at once, before anything starts.
  auto port = server_->base_url().substr(server_->base_url().rfind(':') + 1);
  auto started = std::chrono::steady_clock::now();
  auto busy = run_command("timeout 60 env " + env(work_.path + "/data3", 0) + "AETHERIUM_LISTEN=127.0.0.1:" + port
                          + " AETHERIUM_DATABASE_URL='host=127.0.0.1 port=1 user=nobody' " AETHERIUM_BINARY " server 2>&1");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.exit_code, 124) << "a server on a busy port never exited";
  EXPECT_NE(busy.output.find("cannot listen on 127.0.0.1:" + port), std::string::npos) << busy.output;

  auto t = wait_terminal(id);
  EXPECT_EQ(t.value("status", ""), "completed") << "the second server disturbed the first one's task: " << t.dump();
  expect_nothing_lost_or_left({id});
}

TEST_F(faults, sigterm_during_verification_resumes_the_task_at_the_next_start) {
  // The verify command passes only once the clock reaches `ready`: the first run is still
  // waiting when the server is stopped, the resumed one passes.
  auto ready = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 25;
  auto id = create_task({{"prompt", edit_script},
                         {"verify_command", "while [ $(date +%s) -lt " + std::to_string(ready) + " ]; do sleep 0.2; done; sh check.sh"}});
  wait_for(id, [](const json& t) { return t.value("status", "") == "output_collected"; });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto asked = std::chrono::steady_clock::now();
  server_->kill(SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10));
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto t = wait_terminal(id);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump() << "\n" << task_log(id);
  auto log = task_log(id);
  EXPECT_NE(log.find("resumes from output_collected at its next start"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming after a restart"), std::string::npos) << log;
  EXPECT_EQ(git("rev-list --count main..aetherium/task-" + id), "1\n") << "one commit, pushed once";
  EXPECT_EQ(git("show 'aetherium/task-" + id + ":greeting.txt'"), "Hello from Aetherium\n");
  expect_nothing_lost_or_left({id});
}

TEST_F(faults, kill_9_between_the_code_hosts_answer_and_its_record_opens_no_second_pull_request) {
  // The failure point holds the code-host loop just after the pull request was opened and
  // before task.pr_opened is appended: the server is killed there.
  ASSERT_NO_FATAL_FAILURE(restart_server(SIGTERM, "AETHERIUM_FAILPOINTS=code_host.after_publish=pause"));
  auto id = create_task({{"prompt", edit_script}});
  bool held = false;
  for (int i = 0; i < 600 && !held; ++i) {
    held = server_->log_tail().find("failpoint reached") != std::string::npos;
    if (!held)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(held) << "the code-host loop never reached its failure point";
  ASSERT_TRUE(fs::exists(repo_ + "/aetherium/pulls/1")) << "the pull request was not opened before the kill";
  auto before = json::parse(*api_->get_task(id));
  EXPECT_EQ(before.value("status", ""), "verification_passed") << before.dump();
  ASSERT_NO_FATAL_FAILURE(restart_server(SIGKILL));
  auto t = wait_terminal(id);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump() << "\n" << task_log(id);
  EXPECT_EQ(t.value("pr_url", "").substr(t.value("pr_url", "").rfind('#') + 1), "pull/1") << t.dump();
  EXPECT_FALSE(fs::exists(repo_ + "/aetherium/pulls/2")) << "a second pull request was opened";
  EXPECT_EQ(git("rev-list --count main..aetherium/task-" + id), "1\n") << "the change was pushed twice";
  expect_nothing_lost_or_left({id});
}

TEST_F(faults, kill_9_at_random_points_loses_and_duplicates_nothing) {
  std::mt19937 rng{std::random_device{}()};
  std::vector<std::string> tasks;
  for (int round = 0; round < 4; ++round) {
    tasks.push_back(create_task({{"prompt", std::string{"sleep 1\n"} + edit_script}}));
    auto pause = std::uniform_int_distribution<int>{0, 4000}(rng);
    std::cerr << "round " << round << ": kill -9 after " << pause << " ms\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    ASSERT_NO_FATAL_FAILURE(restart_server(SIGKILL));
  }
  expect_nothing_lost_or_left(tasks);
  for (auto& id : tasks) {
    auto t = json::parse(*api_->get_task(id));
    auto s = t.value("status", "");
    EXPECT_TRUE(s == "completed" || t.value("failure_reason", "") == "control_plane_restart") << t.dump();
  }
}

TEST_F(faults, a_full_data_disk_fails_the_task_with_its_reason_and_the_next_one_completes_once_there_is_room) {
  server_->kill(SIGTERM);
  auto data = work_.path + "/data";
  ASSERT_EQ(run_command("mkdir -p '" + data + "' && mount -t tmpfs -o size=16m tmpfs '" + data + "'").exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(start_server());
  run_command("dd if=/dev/zero of='" + data + "/filler' bs=1M count=64 2>/dev/null");
  ASSERT_EQ(run_command("df --output=avail -B1 '" + data + "' | tail -n 1 | tr -d ' '").output, "0\n") << "the disk is not full";
  auto full = create_task({{"prompt", edit_script}});
  ASSERT_FALSE(full.empty());
  auto t = wait_terminal(full);
  EXPECT_EQ(t.value("status", ""), "failed") << t.dump();
  auto events = api_->task_events(full);
  ASSERT_TRUE(events.ok());
  auto failed = json::parse(*events).at("events").back();
  EXPECT_EQ(failed.value("type", ""), "task.failed");
  EXPECT_NE(failed.dump().find("No space left"), std::string::npos) << "the failure does not say the disk is full: "
                                                                     << failed.dump();
  std::filesystem::remove(data + "/filler");
  auto next = create_task({{"prompt", edit_script}});
  EXPECT_EQ(wait_terminal(next).value("status", ""), "completed") << task_log(next);
  expect_nothing_lost_or_left({full, next});
}

} // namespace
