// Webhook subscriptions end to end: the real server over PostgreSQL delivering to a real
// receiver on 127.0.0.1.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/http_receiver.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {
namespace {

using json = nlohmann::json;

/// The signature header a receiver expects, computed here with OpenSSL directly.
std::string expected_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &n);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < n; ++i)
    out += std::string{hex[mac[i] >> 4], hex[mac[i] & 0xF]};
  return out;
}

constexpr const char* fast_retries =
  "AETHERIUM_NOTIFY_MAX_ATTEMPTS=3 AETHERIUM_NOTIFY_RETRY_DELAY_MS=50 AETHERIUM_NOTIFY_RETRY_MAX_DELAY_MS=100";

class notifications_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
  }
  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  void start(const std::string& env) {
    if (server_)
      server_->kill(SIGTERM);
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_, env);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    if (key_.empty())
      key_ = server_->admin_key("acme");
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  }

  result<http::client_response> subscribe(const std::string& url, const std::vector<std::string>& events,
                                          const std::string& secret = "whsec-1") {
    return api_->request("POST", "/v1/subscriptions", json{{"url", url}, {"secret", secret}, {"events", events}}.dump());
  }

  void make_project(const std::string& name) {
    auto p = api_->create_project(json{{"name", name}, {"repo", repo_}}.dump());
    ASSERT_TRUE(p.ok()) << p.err().detail;
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, key_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

TEST_F(notifications_e2e, matching_events_arrive_once_signed_and_a_restart_does_not_send_them_again) {
  ASSERT_NO_FATAL_FAILURE(start(std::string{"AETHERIUM_NOTIFY_ALLOW_LOOPBACK=1 "} + fast_retries));
  http_receiver receiver{204};
  auto made = subscribe(receiver.url(), {"project.*"});
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(made->status, 201) << made->body;
  auto sub = json::parse(made->body);
  EXPECT_FALSE(sub.contains("secret"));
  EXPECT_EQ(made->body.find("whsec-1"), std::string::npos);
  std::string id = sub.at("id");

  ASSERT_NO_FATAL_FAILURE(make_project("first"));
  ASSERT_TRUE(receiver.wait_for(1));
  ASSERT_NO_FATAL_FAILURE(start(std::string{"AETHERIUM_NOTIFY_ALLOW_LOOPBACK=1 "} + fast_retries));
  ASSERT_NO_FATAL_FAILURE(make_project("second"));
  ASSERT_TRUE(receiver.wait_for(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // room for a wrong repeat
  auto got = receiver.requests();
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> deliveries;
  std::vector<std::string> names;
  for (auto& r : got) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.headers["x-aetherium-signature-256"], expected_signature("whsec-1", r.body));
    EXPECT_EQ(r.headers["x-aetherium-event"], "project.created");
    deliveries.insert(r.headers["x-aetherium-delivery"]);
    auto envelope = json::parse(r.body);
    EXPECT_EQ(envelope.at("type"), "project.created");
    EXPECT_EQ(envelope.at("metadata").at("tenant"), "acme");
    EXPECT_EQ(r.headers["x-aetherium-delivery"], id + "." + envelope.at("event_id").get<std::string>());
    names.push_back(envelope.at("payload").at("name"));
  }
  EXPECT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second"}));

  // Another tenant's events never reach acme's subscription.
  auto beta = http::api_client{http::client_options{server_->base_url(), server_->admin_key("beta")}};
  (void)beta.create_project(json{{"name", "b"}, {"repo", repo_}}.dump());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(receiver.requests().size(), 2u);

  auto listed = api_->request("GET", "/v1/subscriptions");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(json::parse(listed->body).at("subscriptions").size(), 1u);
  auto gone = api_->request("DELETE", "/v1/subscriptions/" + id);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 204);
  EXPECT_EQ(api_->request("GET", "/v1/subscriptions/" + id)->status, 404);
}

TEST_F(notifications_e2e, a_receiver_answering_500_is_retried_then_dead_lettered_visibly) {
  ASSERT_NO_FATAL_FAILURE(start(std::string{"AETHERIUM_NOTIFY_ALLOW_LOOPBACK=1 "} + fast_retries));
  http_receiver failing{500};
  http_receiver fine{200};
  auto bad = subscribe(failing.url(), {"*"});
  auto good = subscribe(fine.url(), {"project.created"});
  ASSERT_TRUE(bad.ok() && good.ok());
  ASSERT_EQ(bad->status, 201) << bad->body;
  std::string id = json::parse(bad->body).at("id");
  ASSERT_NO_FATAL_FAILURE(make_project("p"));
  ASSERT_TRUE(fine.wait_for(1));
  ASSERT_TRUE(failing.wait_for(3));
  json letters;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = api_->request("GET", "/v1/subscriptions/" + id + "/dead-letters");
    ASSERT_TRUE(r.ok());
    letters = json::parse(r->body).at("dead_letters");
    if (!letters.empty())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].at("attempts"), 3);
  EXPECT_EQ(letters[0].at("last_status"), 500);
  EXPECT_EQ(letters[0].at("event_type"), "project.created");
  auto sent = failing.requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].headers["x-aetherium-delivery"], sent[2].headers["x-aetherium-delivery"]);
  auto metrics = api_->request("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("aetherium_notification_dead_letters_total 1"), std::string::npos);
}

TEST_F(notifications_e2e, loopback_destinations_are_refused_without_the_operator_flag) {
  ASSERT_NO_FATAL_FAILURE(start(fast_retries));
  http_receiver receiver;
  auto r = subscribe(receiver.url(), {"*"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(json::parse(r->body).value("field", ""), "url");
  auto bad = subscribe("https://example.com/x", {}, "s");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body).value("field", ""), "events");
  auto viewer = server_->cli("admin create-key --tenant acme --role operator --name op --json");
  ASSERT_EQ(viewer.exit_code, 0) << viewer.output;
  auto key = json::parse(viewer.output.substr(viewer.output.find('{'))).at("key").get<std::string>();
  http::api_client op{http::client_options{server_->base_url(), key}};
  auto forbidden = op.request("GET", "/v1/subscriptions");
  ASSERT_TRUE(forbidden.ok());
  EXPECT_EQ(forbidden->status, 403);
}

} // namespace
} // namespace aetherium::testing
