// One suite of cases, run against the fake sender (unit tests' stand-in) and the curl
// sender; the curl run adds what only a real resolver and real sockets can show.
#include <gtest/gtest.h>

#include "adapters/notify/curl_webhook_sender.hpp"
#include "tests/support/http_receiver.hpp"
#include "tests/unit/notifications/fake_webhook_sender.hpp"

namespace aetherium::testing {
namespace {

using notifications::webhook_request;
using notifications::webhook_sender;

enum class kind { fake, curl };

std::shared_ptr<webhook_sender> make_sender(kind k, bool allow_private) {
  if (k == kind::fake)
    return std::make_shared<fake_webhook_sender>(allow_private);
  curl_webhook_options o;
  o.allow_private = allow_private;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.total_timeout = std::chrono::milliseconds(3000);
  return make_curl_webhook_sender(o);
}

class webhook_sender_contract : public ::testing::TestWithParam<kind> {};

TEST_P(webhook_sender_contract, loopback_destinations_are_refused_naming_url_unless_allowed) {
  auto strict = make_sender(GetParam(), false);
  auto refused = strict->check_destination("http://127.0.0.1:8080/hook");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::invalid_argument);
  EXPECT_EQ(refused.err().field, "url");
  EXPECT_TRUE(make_sender(GetParam(), true)->check_destination("http://127.0.0.1:8080/hook").ok());
}

TEST_P(webhook_sender_contract, malformed_urls_are_invalid) {
  for (auto url : {"ftp://127.0.0.1/", "127.0.0.1/x", "http://user@127.0.0.1/"}) {
    EXPECT_EQ(make_sender(GetParam(), true)->check_destination(url).err().field, "url") << url;
    EXPECT_EQ(make_sender(GetParam(), true)->post({url, {}, "{}"}).err().code, errc::invalid_argument) << url;
  }
}

TEST_P(webhook_sender_contract, a_post_to_a_refused_address_is_never_sent) {
  http_receiver receiver;
  auto r = make_sender(GetParam(), false)->post({receiver.url(), {{"X-A", "1"}}, "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST_P(webhook_sender_contract, an_allowed_post_returns_the_status_whatever_it_is) {
  http_receiver receiver{503};
  if (GetParam() == kind::fake) {
    auto fake = std::make_shared<fake_webhook_sender>(true);
    fake->answer([](const webhook_request&) { return result<notifications::webhook_response>{{503, "127.0.0.1"}}; });
    auto r = fake->post({receiver.url(), {}, "{}"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 503);
    return;
  }
  auto r = make_sender(kind::curl, true)->post({receiver.url(), {{"X-Aetherium-Event", "task.completed"}}, "{\"a\":1}"});
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->address, "127.0.0.1");
  ASSERT_EQ(receiver.requests().size(), 1u);
  auto got = receiver.requests().front();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/hook");
  EXPECT_EQ(got.body, "{\"a\":1}");
  EXPECT_EQ(got.headers["x-aetherium-event"], "task.completed");
}

INSTANTIATE_TEST_SUITE_P(both, webhook_sender_contract, ::testing::Values(kind::fake, kind::curl),
                         [](const auto& info) { return info.param == kind::fake ? "fake" : "curl"; });

// Only the real resolver shows these.

TEST(curl_webhook_sender, numeric_tricks_resolve_to_the_loopback_they_are_and_are_refused) {
  auto strict = make_sender(kind::curl, false);
  for (auto url : {"http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/",
                   "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://0.0.0.0/",
                   "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://100.64.0.1/",
                   "http://10.0.0.1/", "http://192.168.0.1/", "http://localhost/"}) {
    auto r = strict->check_destination(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.err().field, "url") << url << ": " << r.err().detail;
  }
}

TEST(curl_webhook_sender, the_connected_address_is_checked_even_when_the_name_was_fine_before) {
  // localhost resolves to loopback: refused at connect time, so nothing is sent.
  http_receiver receiver;
  auto url = "http://localhost:" + receiver.url().substr(receiver.url().rfind(':') + 1);
  auto r = make_sender(kind::curl, false)->post({url, {}, "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().detail.find("loopback"), std::string::npos) << r.err().detail;
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(curl_webhook_sender, redirects_are_not_followed) {
  http_receiver receiver{302};
  auto r = make_sender(kind::curl, true)->post({receiver.url(), {}, "{}"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(curl_webhook_sender, a_receiver_that_answers_too_late_is_a_timeout) {
  http_receiver receiver;
  receiver.set_delay(std::chrono::milliseconds(4000));
  auto began = std::chrono::steady_clock::now();
  auto r = make_sender(kind::curl, true)->post({receiver.url(), {}, "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(3800));
}

} // namespace
} // namespace aetherium::testing
