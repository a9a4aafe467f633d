// Control-plane failover with the real binary on real PostgreSQL: of two servers on one
// database the holder of the server lock leads and the other stands by, serving reads and
// refusing writes (503, Retry-After: 1, the leader named); when the leader is killed mid
// task the standby leads within 10 s, reconciles the task the dead leader ran, runs new
// ones, and the log verifies with no event lost or recorded twice; the old leader, started
// again, stands by.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;
using std::chrono::steady_clock;

namespace {

constexpr const char* edit_script = "set -e\nsed -i 's/Hello, world/Hello from Aetherium/' greeting.txt\n";

class failover : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    first_ = std::make_unique<server_process>(db_.url(), work_.path + "/first", image_);
    second_ = std::make_unique<server_process>(db_.url(), work_.path + "/second", image_);
    ASSERT_NO_FATAL_FAILURE(first_->start());
    ASSERT_NO_FATAL_FAILURE(second_->start());
    key_ = first_->admin_key("acme");
    ASSERT_FALSE(key_.empty());
  }

  void TearDown() override {
    if (!HasFailure())
      return;
    for (auto* s : {first_.get(), second_.get()})
      std::cerr << "log of " << s->base_url() << ":\n" << s->log_tail();
  }

  std::unique_ptr<http::api_client> client(const server_process& s) {
    return std::make_unique<http::api_client>(http::client_options{s.base_url(), key_});
  }

  /// The role a server reports in X-Aetherium-Role ("" when it does not answer).
  static std::string role_of(const server_process& s) {
    http::api_client probe{{s.base_url()}};
    auto r = probe.request("GET", "/healthz");
    return r ? r->header("x-aetherium-role") : "";
  }

  /// The value of a gauge without labels on /metrics, or -1.
  static double gauge(http::api_client& api, const std::string& name) {
    auto r = api.request("GET", "/metrics");
    if (!r)
      return -1;
    auto at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
  }

  std::string create_project(http::api_client& api) {
    auto r = api.create_project(json{{"name", "sample"}, {"repo", repo_}, {"verify_command", "sh check.sh"}}.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  std::string create_task(http::api_client& api, const std::string& project, const std::string& script) {
    auto r = api.create_task(json{{"project", project}, {"agent_type", "script"}, {"prompt", script}}.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  /// Each task's stream as the API shows it: versions 1, 2, 3, … with no gap or repeat, it
  /// starts requested, every status transition is there once, and the last event is the
  /// status the task shows.
  void expect_clean_streams(http::api_client& api, const std::vector<std::string>& tasks) {
    for (auto& id : tasks) {
      auto t = wait_for_task(api, id, ended);
      auto r = api.task_events(id);
      ASSERT_TRUE(r.ok()) << id << ": " << r.err().detail;
      auto events = json::parse(*r).at("events");
      ASSERT_FALSE(events.empty()) << id;
      std::map<std::string, int> seen;
      std::int64_t version = 0;
      for (auto& e : events) {
        EXPECT_EQ(e.at("version").get<std::int64_t>(), ++version) << id << ": versions not contiguous: " << events.dump();
        auto type = e.at("type").get<std::string>();
        if (type != "task.model_usage_recorded") {
          EXPECT_EQ(++seen[type], 1) << id << ": " << type << " recorded twice";
        }
      }
      EXPECT_EQ(events.front().at("type"), "task.requested") << id;
      EXPECT_EQ(events.back().at("type"), "task." + t.value("status", "?")) << id << " ends on another status";
    }
  }

  /// `aetherium events verify` and `aetherium replay --verify` against the database.
  void expect_log_verifies(const server_process& s) {
    for (auto* command : {"events verify", "replay --verify"}) {
      auto out = s.cli(command);
      EXPECT_EQ(out.exit_code, 0) << command << ":\n" << out.output;
    }
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, key_;
  std::unique_ptr<server_process> first_, second_;
};

TEST_F(failover, one_server_leads_and_the_standby_serves_reads_but_refuses_writes_naming_the_leader) {
  auto first_role = role_of(*first_), second_role = role_of(*second_);
  ASSERT_EQ(std::set<std::string>({first_role, second_role}), (std::set<std::string>{"leader", "standby"}))
    << "exactly one leads";
  auto& leader = first_role == "leader" ? *first_ : *second_;
  auto& standby = first_role == "leader" ? *second_ : *first_;
  auto on_leader = client(leader), on_standby = client(standby);
  EXPECT_EQ(gauge(*on_leader, "aetherium_leader"), 1);
  EXPECT_EQ(gauge(*on_standby, "aetherium_leader"), 0);

  // Every write to the standby: 503, Retry-After: 1, the leader named by its lock holder name.
  auto leader_port = leader.base_url().substr(leader.base_url().rfind(':') + 1);
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
         {"POST", "/v1/projects"}, {"POST", "/v1/tasks"}, {"DELETE", "/v1/tasks/x"}, {"POST", "/v1/webhooks/github"}}) {
    auto r = on_standby->request(method, path, json{{"name", "refused"}, {"repo", repo_}}.dump(),
                                 {{"Content-Type", "application/json"}});
    ASSERT_TRUE(r.ok()) << method << " " << path;
    EXPECT_EQ(r->status, 503) << method << " " << path << ": " << r->body;
    EXPECT_EQ(r->header("retry-after"), "1") << method << " " << path;
    EXPECT_EQ(r->header("x-aetherium-role"), "standby");
    auto body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_EQ(body.value("code", ""), "standby") << r->body;
    EXPECT_NE(body.value("message", "").find("standby"), std::string::npos) << r->body;
    auto named = body.value("leader", "");
    EXPECT_NE(named.find("pid " + std::to_string(leader.pid()) + " "), std::string::npos) << r->body;
    EXPECT_NE(named.find(":" + leader_port), std::string::npos) << r->body;
  }
  auto ready = on_standby->request("GET", "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(json::parse(ready->body).value("role", ""), "standby");

  // Reads on the standby follow the leader's writes.
  auto project = create_project(*on_leader);
  ASSERT_FALSE(project.empty());
  auto id = create_task(*on_leader, project, edit_script);
  ASSERT_FALSE(id.empty());
  auto written = steady_clock::now();
  for (;;) {
    auto seen = on_standby->get_task(id);
    if (seen.ok())
      break;
    ASSERT_LT(steady_clock::now() - written, std::chrono::seconds(5)) << "the standby never saw task " << id;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - written);
  std::cout << "the standby served the leader's write after " << lag.count() << " ms" << std::endl;
  EXPECT_LT(lag, std::chrono::seconds(1)) << "the standby's reads lag the leader's writes";
  EXPECT_TRUE(on_standby->get_project(project).ok());
  auto done = wait_for_task(*on_leader, id, ended);
  EXPECT_EQ(done.value("status", ""), "completed") << done.dump();
  auto there = wait_for_task(*on_standby, id, ended, 5);
  EXPECT_EQ(there.value("status", ""), "completed") << "the standby does not show how the task ended";
}

TEST_F(failover, when_the_leader_dies_mid_task_the_standby_leads_within_10s_and_nothing_is_lost_or_doubled) {
  ASSERT_EQ(role_of(*first_), "leader");
  ASSERT_EQ(role_of(*second_), "standby");
  auto on_first = client(*first_), on_second = client(*second_);
  auto project = create_project(*on_first);
  ASSERT_FALSE(project.empty());
  auto before = create_task(*on_first, project, edit_script);
  auto killed = create_task(*on_first, project, std::string{"sleep 6\n"} + edit_script);
  ASSERT_FALSE(killed.empty());
  wait_for_task(*on_first, killed, [](const json& t) { return t.value("status", "") == "running"; });
  wait_for_task(*on_first, before, ended);

  first_->kill(SIGKILL);
  auto died = steady_clock::now();
  while (role_of(*second_) != "leader" && steady_clock::now() - died < std::chrono::seconds(15))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - died);
  std::cout << "the standby led " << took.count() << " ms after the leader was killed" << std::endl;
  ASSERT_LT(took.count(), 10000) << "no promotion within 10 s (ms)";
  EXPECT_EQ(gauge(*on_second, "aetherium_leader"), 1);
  EXPECT_NE(second_->log_tail().find("\"leading\""), std::string::npos) << "no structured line says it leads";

  // The new leader takes writes and runs tasks; the task the dead leader ran ends.
  auto after = create_task(*on_second, project, edit_script);
  ASSERT_FALSE(after.empty());
  auto done = wait_for_task(*on_second, after, ended);
  EXPECT_EQ(done.value("status", ""), "completed") << done.dump();
  auto orphan = wait_for_task(*on_second, killed, ended, 60);
  ASSERT_TRUE(ended(orphan)) << "the dead leader's task is stuck: " << orphan.dump();
  std::cout << "the dead leader's task ended " << orphan.value("status", "") << " ("
            << orphan.value("failure_reason", json()).dump() << ")" << std::endl;
  if (orphan.value("status", "") == "failed")
    EXPECT_EQ(orphan.value("failure_reason", ""), "control_plane_restart") << orphan.dump();
  else
    EXPECT_EQ(orphan.value("status", ""), "completed") << orphan.dump();

  expect_clean_streams(*on_second, {before, killed, after});
  expect_log_verifies(*second_);

  // The old leader, started again, stands by behind the new one.
  ASSERT_NO_FATAL_FAILURE(first_->start());
  on_first = client(*first_);
  EXPECT_EQ(role_of(*first_), "standby");
  auto refused = on_first->request("POST", "/v1/projects", json{{"name", "late"}, {"repo", repo_}}.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 503) << refused->body;
  auto named = json::parse(refused->body, nullptr, false);
  EXPECT_NE(named.value("leader", "").find("pid " + std::to_string(second_->pid()) + " "), std::string::npos)
    << refused->body;
  auto read = on_first->get_task(after);
  EXPECT_TRUE(read.ok()) << "the restarted standby does not serve reads";
}

} // namespace
