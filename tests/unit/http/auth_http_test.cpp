// Credentials, roles, tenancy and rate limits, through real HTTP.
#include "tests/unit/http/http_fixture.hpp"

namespace aetherium::testing {
namespace {

class auth_http : public http_fixture {
protected:
  std::string jwt(api::role role, std::int64_t exp_offset = 600, const std::string& tenant = "acme",
                  const std::string& issuer = "aetherium", std::int64_t nbf_offset = 0) {
    http::jwt_claims c;
    c.issuer = issuer;
    c.subject = "alice";
    c.tenant = tenant_id{tenant};
    c.role = role;
    c.issued_at = clock_->now_seconds();
    c.expires_at = clock_->now_seconds() + exp_offset;
    c.not_before = nbf_offset == 0 ? 0 : clock_->now_seconds() + nbf_offset;
    auto token = http::sign_jwt_hs256(jwt_secret_, c);
    EXPECT_TRUE(token.ok());
    return token ? *token : std::string{};
  }

  void expect_status(const std::string& token, const std::string& method, const std::string& path, long status,
                     const std::string& body = {}) {
    auto r = call(token, method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.raw.body;
  }
};

TEST_F(auth_http, requests_without_valid_credentials_are_401) {
  auto r = call("", "GET", "/v1/tasks");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.value("code", ""), "unauthorized");
  EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos);
  expect_status("ak_not-a-key", "GET", "/v1/tasks", 401);
  expect_status("garbage", "GET", "/v1/tasks", 401);
  auto basic = call("", "GET", "/v1/tasks", "", {{"Authorization", "Basic YWRtaW46YWRtaW4="}});
  EXPECT_EQ(basic.status, 401);
}

TEST_F(auth_http, health_readiness_and_metrics_need_no_credentials) {
  expect_status("", "GET", "/healthz", 200);
  expect_status("", "GET", "/readyz", 200);
  expect_status("", "GET", "/metrics", 200);
}

TEST_F(auth_http, viewers_read_operators_write_admins_manage_keys) {
  auto p = project();
  auto body = task_body(p).dump();
  expect_status(viewer_, "GET", "/v1/projects/" + p, 200);
  expect_status(viewer_, "POST", "/v1/tasks", 403, body);
  expect_status(viewer_, "POST", "/v1/projects", 403, json{{"name", "v"}, {"repo", "r"}}.dump());
  auto t = task(p, operator_);
  expect_status(viewer_, "DELETE", "/v1/tasks/" + t, 403);
  expect_status(operator_, "GET", "/v1/api-keys", 403);
  expect_status(operator_, "POST", "/v1/api-keys", 403, json{{"name", "ci"}, {"role", "viewer"}}.dump());
  expect_status(operator_, "DELETE", "/v1/tasks/" + t, 202);
  expect_status(admin_, "GET", "/v1/api-keys", 200);
}

TEST_F(auth_http, an_api_key_is_shown_once_stored_hashed_and_can_be_revoked) {
  auto created = call(admin_, "POST", "/v1/api-keys", json{{"name", "ci"}, {"role", "viewer"}}.dump());
  ASSERT_EQ(created.status, 201) << created.raw.body;
  auto key = created.body.value("key", "");
  ASSERT_EQ(key.rfind("ak_", 0), 0u);
  EXPECT_EQ(created.header("cache-control"), "no-store");
  expect_status(key, "GET", "/v1/tasks", 200);
  expect_status(key, "POST", "/v1/tasks", 403, task_body("p").dump());

  auto id = created.body.value("id", "");
  auto stored = keys_->find_by_hash(http::hash_api_key(key));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->id.str(), id);
  EXPECT_NE(stored->secret_hash, key);
  auto listed = call(admin_, "GET", "/v1/api-keys");
  EXPECT_EQ(listed.raw.body.find(key), std::string::npos) << "the key must never be shown again";
  EXPECT_EQ(listed.raw.body.find(stored->secret_hash), std::string::npos) << "nor its hash";

  expect_status(admin_, "DELETE", "/v1/api-keys/" + id, 204);
  expect_status(key, "GET", "/v1/tasks", 401);
  expect_status(other_admin_, "DELETE", "/v1/api-keys/" + id, 404);
}

TEST_F(auth_http, a_key_cannot_revoke_itself) {
  auto own = keys_->find_by_hash(http::hash_api_key(admin_));
  ASSERT_TRUE(own.ok());
  expect_status(admin_, "DELETE", "/v1/api-keys/" + own->id.str(), 409);
  expect_status(admin_, "GET", "/v1/tasks", 200);
}

TEST_F(auth_http, another_tenants_resources_are_404_and_invisible_in_lists) {
  auto p = project();
  auto t = task(p);
  expect_status(other_admin_, "GET", "/v1/projects/" + p, 404);
  expect_status(other_admin_, "GET", "/v1/tasks/" + t, 404);
  expect_status(other_admin_, "GET", "/v1/tasks/" + t + "/events", 404);
  expect_status(other_admin_, "GET", "/v1/tasks/" + t + "/logs", 404);
  expect_status(other_admin_, "GET", "/v1/tasks/" + t + "/logs?follow=1", 404);
  expect_status(other_admin_, "DELETE", "/v1/tasks/" + t, 404);
  expect_status(other_admin_, "POST", "/v1/tasks", 404, task_body(p).dump());
  EXPECT_TRUE(call(other_admin_, "GET", "/v1/tasks").body["tasks"].empty());
  EXPECT_TRUE(call(other_admin_, "GET", "/v1/events").body["events"].empty());
  EXPECT_EQ(call(admin_, "GET", "/v1/tasks").body["tasks"].size(), 1u);
}

TEST_F(auth_http, jwts_carry_tenant_and_role) {
  auto p = project();
  expect_status(jwt(api::role::viewer), "GET", "/v1/projects/" + p, 200);
  expect_status(jwt(api::role::viewer), "POST", "/v1/tasks", 403, task_body(p).dump());
  expect_status(jwt(api::role::operator_), "POST", "/v1/tasks", 202, task_body(p).dump());
  expect_status(jwt(api::role::admin, 600, "globex"), "GET", "/v1/projects/" + p, 404);
}

TEST_F(auth_http, expired_premature_foreign_and_unsigned_jwts_are_401) {
  expect_status(jwt(api::role::admin, -120), "GET", "/v1/tasks", 401);
  expect_status(jwt(api::role::admin, 600, "acme", "aetherium", 300), "GET", "/v1/tasks", 401);
  expect_status(jwt(api::role::admin, 600, "acme", "someone-else"), "GET", "/v1/tasks", 401);
  auto token = jwt(api::role::admin);
  auto payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  // {"alg":"none"} with the same claims and no signature.
  expect_status("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + ".", "GET", "/v1/tasks", 401);
  auto tampered = token;
  auto& first_of_signature = tampered[token.rfind('.') + 1];
  first_of_signature = first_of_signature == 'A' ? 'B' : 'A';
  expect_status(tampered, "GET", "/v1/tasks", 401);
}

TEST_F(auth_http, rate_limits_are_per_key_with_retry_after) {
  start([](http::http_server_options& o) {
    o.rate_per_second = 1;
    o.rate_burst = 3;
  });
  for (int i = 0; i < 3; ++i)
    expect_status(viewer_, "GET", "/v1/tasks", 200);
  auto limited = call(viewer_, "GET", "/v1/tasks");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body.value("code", ""), "rate_limited");
  EXPECT_EQ(limited.header("retry-after"), "1");
  expect_status(operator_, "GET", "/v1/tasks", 200); // another key has its own bucket
  clock_->advance_seconds(1.0);
  expect_status(viewer_, "GET", "/v1/tasks", 200);
  expect_status(viewer_, "GET", "/v1/tasks", 429);
}

} // namespace
} // namespace aetherium::testing
