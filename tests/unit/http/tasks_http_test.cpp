// The happy paths of projects, tasks, the audit trail, nodes and operations endpoints.
#include "tests/unit/http/http_fixture.hpp"

namespace aetherium::testing {
namespace {

class tasks_http : public http_fixture {};

TEST_F(tasks_http, creating_a_task_answers_202_with_the_task_and_its_location) {
  auto p = project();
  auto body = task_body(p);
  body["runtime"] = "runsc";
  body["limits"] = {{"memory_bytes", 512 << 20}, {"pids", 64}};
  body["budgets"] = {{"max_seconds", 600}, {"max_log_bytes", 65536}, {"max_changed_bytes", 1 << 20}};
  body["network"] = {{"allowed_hosts", {"api.anthropic.com", ".github.com"}}};
  body["secrets"] = {"deploy_token"};
  auto r = call(operator_, "POST", "/v1/tasks", body.dump());
  ASSERT_EQ(r.status, 202) << r.raw.body;
  auto id = r.body.value("id", "");
  EXPECT_EQ(r.header("location"), "/v1/tasks/" + id);
  EXPECT_EQ(r.header("idempotent-replayed"), "false");
  EXPECT_EQ(r.body["status"], "requested");
  EXPECT_EQ(r.body["tenant"], "acme");
  EXPECT_EQ(r.body["runtime"], "runsc");
  EXPECT_EQ(r.body["repo"], "https://example.com/demo.git"); // from the project
  EXPECT_EQ(r.body["base_ref"], "main");
  EXPECT_EQ(r.body["limits"]["pids"], 64);
  EXPECT_EQ(r.body["budgets"]["max_log_bytes"], 65536);
  EXPECT_EQ(r.body["budgets"]["max_changed_bytes"], 1 << 20);
  EXPECT_EQ(r.body["network"]["mode"], "allow_list");
  EXPECT_EQ(r.body["secrets"][0], "deploy_token");
  EXPECT_TRUE(r.body["parent_task_id"].is_null());
  EXPECT_TRUE(r.body["finished_at"].is_null());
  EXPECT_EQ(r.body["created_at"].get<std::string>().back(), 'Z');

  auto got = call(viewer_, "GET", r.header("location"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, r.body);
}

TEST_F(tasks_http, the_same_idempotency_key_answers_the_same_task) {
  auto p = project();
  auto first = call(operator_, "POST", "/v1/tasks", task_body(p).dump(), {{"Idempotency-Key", "retry-1"}});
  auto again = call(operator_, "POST", "/v1/tasks", task_body(p).dump(), {{"Idempotency-Key", "retry-1"}});
  ASSERT_EQ(first.status, 202);
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(first.body["id"], again.body["id"]);
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  auto other = call(other_admin_, "POST", "/v1/projects", json{{"name", "demo"}, {"repo", "r"}}.dump());
  auto theirs = call(other_admin_, "POST", "/v1/tasks", task_body(other.body["id"].get<std::string>()).dump(), {{"Idempotency-Key", "retry-1"}});
  EXPECT_EQ(theirs.status, 202) << "keys are scoped to the tenant";
  EXPECT_NE(theirs.body["id"], first.body["id"]);
  EXPECT_EQ(call(viewer_, "GET", "/v1/tasks").body["tasks"].size(), 1u);
}

TEST_F(tasks_http, tasks_are_listed_newest_first_filtered_and_paged) {
  auto a = project("a"), b = project("b");
  std::vector<std::string> in_a;
  for (int i = 0; i < 5; ++i)
    in_a.push_back(task(a));
  auto in_b = task(b);
  ASSERT_TRUE(core_->advance(task_id{in_a[0]}, api::task_status::running).ok());

  auto all = call(viewer_, "GET", "/v1/tasks");
  ASSERT_EQ(all.body["tasks"].size(), 6u);
  EXPECT_EQ(all.body["tasks"][0]["id"], in_b);
  EXPECT_TRUE(all.body["next_cursor"].is_null());

  auto running = call(viewer_, "GET", "/v1/tasks?status=running");
  ASSERT_EQ(running.body["tasks"].size(), 1u);
  EXPECT_EQ(running.body["tasks"][0]["id"], in_a[0]);

  std::vector<std::string> seen;
  std::string path = "/v1/tasks?project=" + a + "&limit=2";
  for (int page = 0; page < 5; ++page) {
    auto r = call(viewer_, "GET", path);
    ASSERT_EQ(r.status, 200) << r.raw.body;
    for (auto& t : r.body["tasks"])
      seen.push_back(t["id"]);
    if (r.body["next_cursor"].is_null())
      break;
    path = "/v1/tasks?project=" + a + "&limit=2&cursor=" + r.body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(seen, std::vector<std::string>(in_a.rbegin(), in_a.rend()));
}

TEST_F(tasks_http, cancelling_a_live_task_answers_202_and_records_the_request) {
  auto t = task(project());
  auto r = call(operator_, "DELETE", "/v1/tasks/" + t);
  ASSERT_EQ(r.status, 202) << r.raw.body;
  EXPECT_EQ(r.body["status"], "cancel_requested");
  EXPECT_EQ(call(operator_, "DELETE", "/v1/tasks/" + t).status, 202) << "asking twice is fine";
  auto events = call(viewer_, "GET", "/v1/tasks/" + t + "/events");
  ASSERT_EQ(events.status, 200);
  ASSERT_EQ(events.body["events"].size(), 2u);
  EXPECT_EQ(events.body["events"][0]["type"], "task.requested");
  EXPECT_EQ(events.body["events"][0]["version"], 1);
  EXPECT_EQ(events.body["events"][0]["payload"]["task_id"], t);
  EXPECT_EQ(events.body["events"][1]["type"], "task.cancel_requested");
  EXPECT_EQ(events.body["events"][1]["stream"], "task-" + t);
}

TEST_F(tasks_http, the_audit_feed_pages_by_position) {
  auto p = project();
  task(p);
  task(p);
  auto first = call(viewer_, "GET", "/v1/events?after=0&limit=2");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(first.body["events"].size(), 2u);
  EXPECT_EQ(first.body["events"][0]["type"], "project.created");
  auto next = first.body["next_after"].get<std::int64_t>();
  auto rest = call(viewer_, "GET", "/v1/events?after=" + std::to_string(next));
  ASSERT_EQ(rest.body["events"].size(), 1u);
  EXPECT_GT(rest.body["events"][0]["position"].get<std::int64_t>(), next);
}

TEST_F(tasks_http, nodes_are_listed) {
  EXPECT_EQ(call(viewer_, "GET", "/v1/nodes").body["nodes"].size(), 0u);
  scheduling::node_registration n;
  n.id = node_id{"node-1"};
  n.address = "10.0.0.1:4242";
  n.capacity = {4000, 8ull << 30, 8};
  n.runtimes = {"crun", "runsc"};
  ASSERT_TRUE(core_->register_node(n).ok());
  auto r = call(viewer_, "GET", "/v1/nodes");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body["nodes"].size(), 1u);
  EXPECT_EQ(r.body["nodes"][0]["id"], "node-1");
  EXPECT_EQ(r.body["nodes"][0]["address"], "10.0.0.1:4242");
  EXPECT_EQ(r.body["nodes"][0]["status"], "ready");
  EXPECT_EQ(r.body["nodes"][0]["cpu_millis"], 4000);
  EXPECT_EQ(r.body["nodes"][0]["sandbox_slots"], 8);
  EXPECT_EQ(r.body["nodes"][0]["sandboxes_running"], 0);
  EXPECT_EQ(r.body["nodes"][0]["runtimes"][1], "runsc");
}

TEST_F(tasks_http, readiness_follows_the_control_plane) {
  EXPECT_EQ(call("", "GET", "/readyz").status, 200);
  core_->set_store_reachable(false);
  auto r = call("", "GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.value("message", ""), "event store: the database cannot be reached");
  EXPECT_EQ(call("", "GET", "/healthz").status, 200);
  core_->set_store_reachable(true);
  EXPECT_EQ(call("", "GET", "/readyz").status, 200);
}

TEST_F(tasks_http, metrics_count_requests_per_route_and_show_the_core_gauges) {
  auto core = api::register_core_metrics(*metrics_);
  core.tasks_by_state.at("running")->set(3);
  core.sandboxes_live->set(2);
  core.append_seconds->observe(0.002);
  core.relay_lag_events->set(7);
  call(viewer_, "GET", "/v1/tasks/unknown");
  call(viewer_, "GET", "/v1/tasks");
  auto r = call("", "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  auto& text = r.raw.body;
  for (auto* line : {"aetherium_http_requests_total{route=\"/v1/tasks/{id}\",method=\"GET\",status=\"404\"} 1",
                     "aetherium_http_requests_total{route=\"/v1/tasks\",method=\"GET\",status=\"200\"} 1",
                     "aetherium_http_request_duration_seconds_count{route=\"/v1/tasks\",method=\"GET\"} 1",
                     "# TYPE aetherium_http_request_duration_seconds histogram",
                     "aetherium_tasks{state=\"running\"} 3", "aetherium_tasks{state=\"completed\"} 0",
                     "aetherium_sandboxes_live 2", "aetherium_event_append_seconds_count 1",
                     "aetherium_relay_lag_events 7"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

TEST_F(tasks_http, metrics_may_require_credentials) {
  start([](http::http_server_options& o) { o.metrics_public = false; });
  EXPECT_EQ(call("", "GET", "/metrics").status, 401);
  EXPECT_EQ(call(viewer_, "GET", "/metrics").status, 200);
}

TEST_F(tasks_http, the_webhook_answers_503_without_a_sink) {
  auto r = call("", "POST", "/v1/webhooks/github", "{}", {{"X-GitHub-Event", "ping"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.value("code", ""), "unavailable");
}

class recording_sink : public api::webhook_sink {
public:
  void deliver(api::webhook_delivery d, std::function<void(result<void>)> done) override {
    last = d;
    done(d.headers.count("x-hub-signature-256") ? result<void>{} : make_error(errc::unauthorized, "unsigned"));
  }
  api::webhook_delivery last;
};

TEST_F(tasks_http, the_webhook_hands_headers_and_the_raw_body_to_the_sink) {
  auto sink = std::make_shared<recording_sink>();
  server_->stop();
  server_ = http::make_http_server(http::http_server_options{"127.0.0.1", 0}, core_->control(), auth_, metrics_, sink);
  ASSERT_TRUE(server_->start().ok());
  base_url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  auto ok = call("", "POST", "/v1/webhooks/github", "{\"zen\": 1}",
                 {{"X-GitHub-Event", "ping"}, {"X-Hub-Signature-256", "sha256=00"}});
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(sink->last.body, "{\"zen\": 1}");
  EXPECT_EQ(sink->last.headers["x-github-event"], "ping");
  EXPECT_EQ(call("", "POST", "/v1/webhooks/github", "{}").status, 401);
}

} // namespace
} // namespace aetherium::testing

namespace aetherium::testing {
namespace {

class request_ids_http : public http_fixture {
protected:
  std::vector<recorded_event> task_events(const std::string& id) {
    auto events = core_->store()->read_stream(stream_id{"task-" + id});
    return events ? *events : std::vector<recorded_event>{};
  }
};

TEST_F(request_ids_http, a_clients_request_id_correlates_the_events_it_causes) {
  auto p = project();
  auto r = call(operator_, "POST", "/v1/tasks", task_body(p).dump(), {{"X-Request-Id", "abc"}});
  ASSERT_EQ(r.status, 202) << r.raw.body;
  EXPECT_EQ(r.header("x-request-id"), "abc");
  auto events = task_events(r.body.value("id", ""));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().type, "task.requested");
  EXPECT_EQ(events.front().metadata.correlation_id, "abc");

  ASSERT_TRUE(core_->advance(task_id{r.body.value("id", "")}, api::task_status::running).ok());
  events = task_events(r.body.value("id", ""));
  ASSERT_GT(events.size(), 1u);
  for (auto& e : events)
    EXPECT_EQ(e.metadata.correlation_id, "abc") << e.type << ": the run's steps continue the request";

  auto cancel = call(operator_, "DELETE", "/v1/tasks/" + r.body.value("id", ""), {}, {{"X-Request-Id", "def"}});
  ASSERT_EQ(cancel.status, 202) << cancel.raw.body;
  EXPECT_EQ(task_events(r.body.value("id", "")).back().metadata.correlation_id, "def");
}

TEST_F(request_ids_http, a_request_without_a_valid_id_gets_a_fresh_one) {
  auto p = project();
  auto first = call(operator_, "POST", "/v1/tasks", task_body(p).dump());
  auto second = call(operator_, "POST", "/v1/tasks", task_body(p).dump(), {{"X-Request-Id", "bad id\"{}"}});
  ASSERT_EQ(first.status, 202);
  ASSERT_EQ(second.status, 202);
  auto id1 = first.header("x-request-id");
  auto id2 = second.header("x-request-id");
  EXPECT_EQ(id1.size(), 36u) << id1;
  EXPECT_EQ(id2.size(), 36u) << id2;
  EXPECT_NE(id1, id2);
  EXPECT_EQ(task_events(second.body.value("id", "")).front().metadata.correlation_id, id2);
  EXPECT_EQ(call(viewer_, "GET", "/v1/nosuch", {}, {{"X-Request-Id", "x-1"}}).header("x-request-id"), "x-1")
    << "errors name the request too";
}

} // namespace
} // namespace aetherium::testing
