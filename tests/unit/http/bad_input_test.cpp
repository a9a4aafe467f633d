// Every class of bad input answers its status with {code, message, field?} and persists
// nothing.
#include "tests/unit/http/http_fixture.hpp"

namespace aetherium::testing {
namespace {

class bad_input : public http_fixture {
protected:
  void expect_error(const http_answer& r, long status, const std::string& code, const std::string& field = {}) {
    EXPECT_EQ(r.status, status) << r.raw.body;
    ASSERT_TRUE(r.body.is_object()) << r.raw.body;
    EXPECT_EQ(r.body.value("code", ""), code) << r.raw.body;
    EXPECT_FALSE(r.body.value("message", "").empty());
    if (!field.empty()) {
      EXPECT_EQ(r.body.value("field", ""), field) << r.raw.body;
    }
    EXPECT_EQ(r.header("content-type"), "application/json");
  }

  /// No task was stored by a refused request.
  void expect_no_tasks() {
    auto list = call(viewer_, "GET", "/v1/tasks");
    ASSERT_EQ(list.status, 200);
    EXPECT_TRUE(list.body["tasks"].empty()) << list.raw.body;
  }

  http_answer post_task(const json& body) { return call(operator_, "POST", "/v1/tasks", body.dump()); }
};

TEST_F(bad_input, malformed_json_is_400_without_a_field) {
  auto r = call(operator_, "POST", "/v1/tasks", "{\"project\": ");
  expect_error(r, 400, "invalid_argument");
  EXPECT_FALSE(r.body.contains("field"));
  expect_error(call(operator_, "POST", "/v1/tasks", "[1,2]"), 400, "invalid_argument");
  expect_error(call(operator_, "POST", "/v1/tasks", std::string(100, '[') + std::string(100, ']')), 400,
               "invalid_argument");
  expect_error(call(operator_, "POST", "/v1/tasks", "{\"prompt\": \"\xff\xfe\"}"), 400, "invalid_argument");
  expect_no_tasks();
}

TEST_F(bad_input, wrong_types_name_the_field) {
  auto p = project();
  auto body = task_body(p);
  body["prompt"] = 42;
  expect_error(post_task(body), 400, "invalid_argument", "prompt");
  body = task_body(p);
  body["limits"] = {{"pids", "many"}};
  expect_error(post_task(body), 400, "invalid_argument", "limits.pids");
  body = task_body(p);
  body["limits"] = {{"memory_bytes", -1}};
  expect_error(post_task(body), 400, "invalid_argument", "limits.memory_bytes");
  body = task_body(p);
  body["budgets"] = {{"max_seconds", 1.5}};
  expect_error(post_task(body), 400, "invalid_argument", "budgets.max_seconds");
  body["budgets"] = {{"max_log_bytes", (1ll << 30) + 1}};
  expect_error(post_task(body), 400, "invalid_argument", "budgets.max_log_bytes");
  body = task_body(p);
  body["secrets"] = json::array({"ok", 7});
  expect_error(post_task(body), 400, "invalid_argument", "secrets[1]");
  body = task_body(p);
  body["network"] = "open";
  expect_error(post_task(body), 400, "invalid_argument", "network");
  body = task_body(p);
  body["parent_task_id"] = nullptr;
  expect_error(post_task(body), 400, "invalid_argument", "parent_task_id");
  expect_no_tasks();
}

TEST_F(bad_input, missing_and_unknown_fields_are_refused) {
  auto p = project();
  auto body = task_body(p);
  body.erase("prompt");
  expect_error(post_task(body), 400, "invalid_argument", "prompt");
  body = task_body(p);
  body["priority"] = "high";
  expect_error(post_task(body), 400, "invalid_argument", "priority");
  body = task_body(p);
  body["limits"] = {{"gpus", 1}};
  expect_error(post_task(body), 400, "invalid_argument", "limits.gpus");
  expect_error(call(operator_, "POST", "/v1/projects", json{{"name", "x"}}.dump()), 400, "invalid_argument", "repo");
  expect_no_tasks();
}

TEST_F(bad_input, values_over_their_limits_are_refused) {
  auto p = project();
  auto body = task_body(p);
  body["prompt"] = std::string(64 * 1024 + 1, 'x');
  expect_error(post_task(body), 400, "invalid_argument", "prompt");
  body["prompt"] = "";
  expect_error(post_task(body), 400, "invalid_argument", "prompt");
  body["prompt"] = std::string("before\0after", 12);
  expect_error(post_task(body), 400, "invalid_argument", "prompt");
  body = task_body(p);
  body["verify_command"] = std::string("true\0", 5);
  expect_error(post_task(body), 400, "invalid_argument", "verify_command");
  body = task_body(p);
  body["agent_type"] = "hal9000";
  expect_error(post_task(body), 400, "invalid_argument", "agent_type");
  body = task_body(p);
  body["limits"] = {{"pids", 65537}};
  expect_error(post_task(body), 400, "invalid_argument", "limits.pids");
  body["limits"] = {{"memory_bytes", 23129}};
  expect_error(post_task(body), 400, "invalid_argument", "limits.memory_bytes");
  body = task_body(p);
  body["secrets"] = json::array({"token", "token"});
  expect_error(post_task(body), 400, "invalid_argument", "secrets[1]");
  body = task_body(p);
  body["network"] = {{"allowed_hosts", json::array({"bad host"})}};
  expect_error(post_task(body), 400, "invalid_argument", "network.allowed_hosts[0]");
  body = task_body(p);
  body["runtime"] = "docker";
  expect_error(post_task(body), 400, "invalid_argument", "runtime");
  expect_error(call(operator_, "POST", "/v1/projects", json{{"name", std::string(101, 'a')}, {"repo", "r"}}.dump()),
               400, "invalid_argument", "name");
  expect_no_tasks();
}

TEST_F(bad_input, a_prompt_at_its_limit_in_multibyte_characters_is_accepted) {
  auto body = task_body(project());
  std::string prompt;
  for (int i = 0; i < 64 * 1024; ++i)
    prompt += "\xc3\xa9"; // é: two bytes, one character
  body["prompt"] = prompt;
  EXPECT_EQ(post_task(body).status, 202);
}

TEST_F(bad_input, bodies_over_one_mebibyte_are_413) {
  auto body = task_body(project());
  body["prompt"] = std::string((1 << 20) + 10, 'x');
  expect_error(post_task(body), 413, "payload_too_large");
  expect_no_tasks();
}

TEST_F(bad_input, unknown_ids_and_routes_are_404_and_wrong_methods_405) {
  expect_error(call(viewer_, "GET", "/v1/tasks/no-such-task"), 404, "not_found");
  expect_error(call(viewer_, "GET", "/v1/projects/no-such-project"), 404, "not_found");
  expect_error(call(viewer_, "GET", "/v1/tasks/no-such-task/events"), 404, "not_found");
  expect_error(call(viewer_, "GET", "/v1/tasks/no-such-task/logs"), 404, "not_found");
  expect_error(call(viewer_, "GET", "/v1/tasks/%2F%2E%2E"), 404, "not_found");
  expect_error(call(viewer_, "GET", "/v1/nothing-here"), 404, "not_found");
  auto r = call(admin_, "PATCH", "/v1/tasks/abc");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET, DELETE");
  auto body = task_body("no-such-project");
  expect_error(post_task(body), 404, "not_found", "project");
}

TEST_F(bad_input, bad_query_parameters_are_400) {
  expect_error(call(viewer_, "GET", "/v1/tasks?status=sleeping"), 400, "invalid_argument", "status");
  expect_error(call(viewer_, "GET", "/v1/tasks?limit=0"), 400, "invalid_argument", "limit");
  expect_error(call(viewer_, "GET", "/v1/tasks?limit=501"), 400, "invalid_argument", "limit");
  expect_error(call(viewer_, "GET", "/v1/tasks?cursor=abc"), 400, "invalid_argument", "cursor");
  expect_error(call(viewer_, "GET", "/v1/tasks?sort=asc"), 400, "invalid_argument", "sort");
  expect_error(call(viewer_, "GET", "/v1/tasks?limit=1&limit=2"), 400, "invalid_argument", "limit");
  expect_error(call(viewer_, "GET", "/v1/events?after=-1"), 400, "invalid_argument", "after");
  expect_error(call(viewer_, "GET", "/v1/events?after=%zz"), 400, "invalid_argument", "query");
}

TEST_F(bad_input, cancelling_a_finished_task_is_an_invalid_transition) {
  auto t = task(project());
  ASSERT_TRUE(core_->advance(task_id{t}, api::task_status::completed).ok());
  expect_error(call(operator_, "DELETE", "/v1/tasks/" + t), 422, "invalid_transition");
  EXPECT_EQ(call(viewer_, "GET", "/v1/tasks/" + t).body.value("status", ""), "completed");
}

TEST_F(bad_input, conflicting_writes_are_409) {
  project("dup");
  expect_error(call(operator_, "POST", "/v1/projects", json{{"name", "dup"}, {"repo", "r"}}.dump()), 409, "conflict",
               "name");
  auto p = project("other");
  auto first = call(operator_, "POST", "/v1/tasks", task_body(p).dump(), {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 202);
  auto changed = task_body(p);
  changed["prompt"] = "something else";
  expect_error(call(operator_, "POST", "/v1/tasks", changed.dump(), {{"Idempotency-Key", "k-1"}}), 409, "conflict",
               "Idempotency-Key");
}

TEST_F(bad_input, tenant_quota_is_429_with_retry_after) {
  in_memory_core_options one_live_task;
  one_live_task.active_task_quota = 1;
  start({}, one_live_task);
  auto p = project();
  task(p);
  auto r = post_task(task_body(p));
  expect_error(r, 429, "quota_exceeded", "max_live_tasks");
  EXPECT_EQ(r.header("retry-after"), "30");
  EXPECT_EQ(r.body.value("quota", ""), "max_live_tasks") << r.raw.body;
  EXPECT_EQ(r.body.value("limit", 0), 1) << r.raw.body;
  EXPECT_NE(r.body.value("message", "").find("1 live tasks"), std::string::npos) << r.raw.body;
}

TEST_F(bad_input, a_bad_idempotency_key_is_400) {
  auto r = call(operator_, "POST", "/v1/tasks", task_body(project()).dump(), {{"Idempotency-Key", std::string(256, 'k')}});
  expect_error(r, 400, "invalid_argument", "Idempotency-Key");
  expect_no_tasks();
}

} // namespace
} // namespace aetherium::testing
