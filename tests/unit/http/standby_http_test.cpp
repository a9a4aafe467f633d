// A standby's HTTP API: reads as usual, every write under /v1/ refused with 503,
// Retry-After: 1 and the leader named; the role on every response; a promotion takes
// effect on the next request.
#include <atomic>
#include <memory>

#include "tests/unit/http/http_fixture.hpp"

namespace aetherium::testing {
namespace {

class standby_http : public http_fixture {
protected:
  void SetUp() override {
    start([leading = leading_](http::http_server_options& o) {
      o.role = [leading] { return http::server_role{leading->load(), leading->load() ? "" : "db-host pid 7 0.0.0.0:8080"}; };
    });
  }
  std::shared_ptr<std::atomic<bool>> leading_ = std::make_shared<std::atomic<bool>>(true);
};

TEST_F(standby_http, a_standby_refuses_writes_naming_the_leader_and_serves_reads) {
  auto id = project();
  leading_->store(false);
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
         {"POST", "/v1/projects"}, {"POST", "/v1/tasks"}, {"DELETE", "/v1/tasks/t1"},
         {"POST", "/v1/api-keys"}, {"POST", "/v1/webhooks/github"}}) {
    auto r = call(admin_, method, path, json{{"name", "x"}, {"repo", "https://example.com/x.git"}}.dump());
    EXPECT_EQ(r.status, 503) << method << " " << path << ": " << r.raw.body;
    EXPECT_EQ(r.header("retry-after"), "1") << method << " " << path;
    EXPECT_EQ(r.header("x-aetherium-role"), "standby");
    EXPECT_EQ(r.body.value("code", ""), "standby") << r.raw.body;
    EXPECT_EQ(r.body.value("leader", ""), "db-host pid 7 0.0.0.0:8080") << r.raw.body;
    EXPECT_NE(r.body.value("message", "").find("db-host pid 7 0.0.0.0:8080"), std::string::npos) << r.raw.body;
  }
  auto read = call(viewer_, "GET", "/v1/projects/" + id);
  EXPECT_EQ(read.status, 200) << read.raw.body;
  EXPECT_EQ(read.header("x-aetherium-role"), "standby");
  auto ready = call("", "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body.value("role", ""), "standby");
  EXPECT_EQ(call("", "GET", "/healthz").status, 200);
}

TEST_F(standby_http, credentials_are_checked_before_the_standby_refuses) {
  leading_->store(false);
  EXPECT_EQ(call("", "POST", "/v1/projects", "{}").status, 401);
  EXPECT_EQ(call(viewer_, "POST", "/v1/projects", "{}").status, 403);
}

TEST_F(standby_http, once_it_leads_the_same_server_takes_writes) {
  leading_->store(false);
  EXPECT_EQ(call(admin_, "POST", "/v1/projects", "{}").status, 503);
  leading_->store(true);
  auto r = call(admin_, "POST", "/v1/projects", json{{"name", "demo"}, {"repo", "https://example.com/demo.git"}}.dump());
  EXPECT_EQ(r.status, 201) << r.raw.body;
  EXPECT_EQ(r.header("x-aetherium-role"), "leader");
  EXPECT_EQ(call("", "GET", "/readyz").body.value("role", ""), "leader");
}

} // namespace
} // namespace aetherium::testing
