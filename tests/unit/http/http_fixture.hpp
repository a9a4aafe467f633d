#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "adapters/http/auth/authenticator.hpp"
#include "adapters/http/client/api_client.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/http/metrics/prometheus_registry.hpp"
#include "tests/support/in_memory_core.hpp"

namespace aetherium::testing {

using json = nlohmann::json;

/// A clock tests move by hand; thread-safe, starting at the wall clock so JWT times are real.
class test_clock : public clock {
public:
  test_clock()
    : now_(std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count()) {}
  std::int64_t now_us() override { return now_.load(); }
  void advance_seconds(double s) { now_ += static_cast<std::int64_t>(s * 1e6); }
  std::int64_t now_seconds() const { return now_.load() / 1'000'000; }

private:
  std::atomic<std::int64_t> now_;
};

/// An answer of the server, decoded.
struct http_answer {
  long status = 0;
  json body;        ///< Null when the body is not JSON.
  http::client_response raw;
  std::string header(const char* name) const { return raw.header(name); }
};

/// A server on 127.0.0.1 with an OS-chosen port, over the real control plane on in-memory
/// ports (tests/support/in_memory_core.hpp), with API keys for tenant "acme" (admin,
/// operator, viewer) and tenant "globex" (admin).
class http_fixture : public ::testing::Test {
protected:
  void SetUp() override { start(); }
  void TearDown() override {
    if (server_)
      server_->stop();
    server_.reset();
    core_.reset();
  }

  /// Starts the server, over a fresh control plane; `tweak` may change the server's
  /// options first, and `core` the control plane's.
  void start(const std::function<void(http::http_server_options&)>& tweak = {}, in_memory_core_options core = {}) {
    server_.reset();
    core_.reset();
    core.time = clock_;
    core_ = std::make_unique<in_memory_core>(std::move(core));
    keys_ = api::make_memory_api_key_store();
    auth_ = http::make_authenticator(http::auth_options{jwt_secret_, "aetherium", 30}, keys_, clock_,
                                     make_random_id_generator());
    metrics_ = http::make_prometheus_registry();
    http::http_server_options o;
    o.port = 0;
    o.time = clock_;
    o.rate_per_second = 1000;
    o.rate_burst = 1000;
    o.sse_heartbeat = std::chrono::milliseconds(50);
    if (tweak)
      tweak(o);
    server_ = http::make_http_server(o, core_->control(), auth_, metrics_);
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.err().detail;
    base_url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    admin_ = key("acme", api::role::admin);
    operator_ = key("acme", api::role::operator_);
    viewer_ = key("acme", api::role::viewer);
    other_admin_ = key("globex", api::role::admin);
  }

  std::string key(const std::string& tenant, api::role role) {
    auto issued = auth_->create_key(tenant_id{tenant}, role, "test");
    EXPECT_TRUE(issued.ok());
    return issued ? issued->key : std::string{};
  }

  http::api_client client(const std::string& token) {
    return http::api_client{http::client_options{base_url_, token, 10000}};
  }

  http_answer call(const std::string& token, const std::string& method, const std::string& path,
                   const std::string& body = {}, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http_answer out;
    auto r = client(token).request(method, path, body, headers);
    EXPECT_TRUE(r.ok()) << (r ? "" : r.err().detail);
    if (!r)
      return out;
    out.raw = *r;
    out.status = r->status;
    out.body = json::parse(r->body, nullptr, false);
    if (out.body.is_discarded())
      out.body = nullptr;
    return out;
  }

  /// Creates a project named `name` in the admin's tenant; returns its id.
  std::string project(const std::string& name = "demo", const std::string& token = {}) {
    auto r = call(token.empty() ? admin_ : token, "POST", "/v1/projects",
                  json{{"name", name}, {"repo", "https://example.com/demo.git"}}.dump());
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.body.is_object() ? r.body.value("id", "") : "";
  }

  /// Requests a task in `project_id`; returns its id.
  std::string task(const std::string& project_id, const std::string& token = {}) {
    auto r = call(token.empty() ? operator_ : token, "POST", "/v1/tasks", task_body(project_id).dump());
    EXPECT_EQ(r.status, 202) << r.raw.body;
    return r.body.is_object() ? r.body.value("id", "") : "";
  }

  static json task_body(const std::string& project_id) {
    return json{{"project", project_id}, {"agent_type", "script"}, {"prompt", "echo hello"}};
  }

  std::shared_ptr<test_clock> clock_ = std::make_shared<test_clock>();
  std::shared_ptr<api::api_key_store> keys_;
  std::shared_ptr<http::authenticator> auth_;
  std::shared_ptr<api::metrics_registry> metrics_;
  std::unique_ptr<in_memory_core> core_;     ///< Outlives the server, which calls it.
  std::unique_ptr<http::http_server> server_;
  std::string base_url_;
  std::string admin_, operator_, viewer_, other_admin_;
  const std::string jwt_secret_ = "a-test-secret-of-at-least-32-bytes";
};

} // namespace aetherium::testing
