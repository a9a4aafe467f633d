// Tenant quotas end to end: the real server against PostgreSQL, quotas changed by the real
// CLI in another process while the server runs, and enforced on the HTTP API within a
// second of the change.
#include <chrono>
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

class tenant_quota : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    auto made = server_->cli("admin tenant create --tenant acme --name Acme");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    auto key = server_->admin_key("acme");
    ASSERT_FALSE(key.empty());
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key});
    project_ = create_sample_project(*api_, repo_);
    ASSERT_FALSE(project_.empty());
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  http::client_response post_task(const std::string& script) {
    auto body = json{{"project", project_}, {"agent_type", "script"}, {"prompt", script}}.dump();
    auto r = api_->request("POST", "/v1/tasks", body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? *r : http::client_response{};
  }

  /// Posts a task every 50 ms until one is answered `status`, for at most `within`; the
  /// ids of the tasks accepted on the way are added to `accepted`.
  http::client_response post_until(long status, std::chrono::milliseconds within, std::vector<std::string>& accepted) {
    auto deadline = steady_clock::now() + within;
    http::client_response r;
    do {
      r = post_task("sleep 60");
      if (r.status == 202 && status != 202)
        accepted.push_back(json::parse(r.body).at("id"));
      if (r.status == status)
        return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (steady_clock::now() < deadline);
    ADD_FAILURE() << "no " << status << " within " << within.count() << " ms; last answer " << r.status << " " << r.body;
    return r;
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, project_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

TEST_F(tenant_quota, a_quota_set_by_the_cli_binds_the_running_server_within_a_second) {
  auto first = post_task("sleep 60");
  ASSERT_EQ(first.status, 202) << first.body;
  auto long_task = json::parse(first.body).at("id").get<std::string>();
  wait_for_task(*api_, long_task, [](const json& t) { return t.value("status", "") == "running"; }, 60);

  auto set = server_->cli("admin tenant set-quota --tenant acme --max-live-tasks 1");
  ASSERT_EQ(set.exit_code, 0) << set.output;
  std::vector<std::string> early; // accepted before the server saw the change (allowed within the second)
  auto refused = post_until(429, std::chrono::milliseconds(1000), early);
  ASSERT_EQ(refused.status, 429) << refused.body;
  auto body = json::parse(refused.body);
  EXPECT_EQ(body.value("code", ""), "quota_exceeded") << refused.body;
  EXPECT_EQ(body.value("quota", ""), "max_live_tasks") << refused.body;
  EXPECT_EQ(body.value("field", ""), "max_live_tasks") << refused.body;
  EXPECT_EQ(body.value("limit", 0), 1) << refused.body;
  EXPECT_NE(body.value("message", "").find("max_live_tasks"), std::string::npos) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());

  auto shown = server_->cli("admin tenant get --tenant acme --json");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  auto tenant = json::parse(shown.output.substr(shown.output.find('{')));
  EXPECT_EQ(tenant.at("quotas").at("max_live_tasks"), 1) << shown.output;
  EXPECT_TRUE(tenant.at("quotas").at("max_sandboxes").is_null()) << shown.output;

  // Raising the quota lets the next request through; the running task was never touched.
  auto live = 1 + early.size();
  auto raised = server_->cli("admin tenant set-quota --tenant acme --max-live-tasks " + std::to_string(live + 1));
  ASSERT_EQ(raised.exit_code, 0) << raised.output;
  std::vector<std::string> none;
  auto admitted = post_until(202, std::chrono::milliseconds(1000), none);
  ASSERT_EQ(admitted.status, 202) << admitted.body;
  auto still = json::parse(*api_->get_task(long_task));
  EXPECT_EQ(still.value("status", ""), "running") << still.dump();

  // Lowering it again refuses new tasks but ends none of the running ones.
  ASSERT_EQ(server_->cli("admin tenant set-quota --tenant acme --max-live-tasks 1").exit_code, 0);
  auto again = post_until(429, std::chrono::milliseconds(1000), early);
  EXPECT_EQ(again.status, 429) << again.body;
  still = json::parse(*api_->get_task(long_task));
  EXPECT_EQ(still.value("status", ""), "running") << still.dump();

  for (auto& id : early)
    (void)api_->cancel_task(id);
  (void)api_->cancel_task(json::parse(admitted.body).at("id").get<std::string>());
  (void)api_->cancel_task(long_task);
}

} // namespace
