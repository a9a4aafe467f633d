#include <gtest/gtest.h>

#include "events/notifications/subscription.hpp"

namespace aetherium::notifications {
namespace {

create_subscription a_create(std::string url = "https://hooks.example.com/x", std::vector<std::string> events = {"task.*"}) {
  return {subscription_id{"s1"}, tenant_id{"acme"}, std::move(url), std::move(events), 42};
}

subscription_state given(const std::vector<subscription_event>& events) {
  subscription_state s;
  for (auto& e : events)
    s = subscription::evolve(std::move(s), e);
  return s;
}

TEST(subscription, create_records_created_with_url_filters_and_time) {
  auto out = subscription::decide({}, a_create());
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  auto& c = std::get<subscription_created>(out->front());
  EXPECT_EQ(c.url, "https://hooks.example.com/x");
  EXPECT_EQ(c.at_us, 42);
  EXPECT_STREQ(type_name(out->front()), "subscription.created");
  auto s = given(*out);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.tenant.str(), "acme");
}

TEST(subscription, creating_twice_is_a_conflict) {
  auto s = given({subscription_created{subscription_id{"s1"}, tenant_id{"acme"}, "http://h/", {"*"}, 1}});
  EXPECT_EQ(subscription::decide(s, a_create()).err().code, errc::conflict);
}

TEST(subscription, delete_then_delete_again_is_not_found) {
  auto s = given({subscription_created{subscription_id{"s1"}, tenant_id{"acme"}, "http://h/", {"*"}, 1}});
  auto del = subscription::decide(s, delete_subscription{5});
  ASSERT_TRUE(del.ok());
  s = given({subscription_created{subscription_id{"s1"}, tenant_id{"acme"}, "http://h/", {"*"}, 1}, del->front()});
  EXPECT_TRUE(s.deleted);
  EXPECT_EQ(subscription::decide(s, delete_subscription{6}).err().code, errc::not_found);
  EXPECT_TRUE(subscription::decide(s, record_dead_letter{}).value().empty());
}

TEST(subscription, dead_letters_are_kept_in_order) {
  subscription_delivery_dead_lettered d{"e1", "task.completed", 7, 5, 500, "HTTP 500", 9};
  auto s = given({subscription_created{subscription_id{"s1"}, tenant_id{"acme"}, "http://h/", {"*"}, 1}});
  auto out = subscription::decide(s, record_dead_letter{d});
  ASSERT_TRUE(out.ok());
  EXPECT_STREQ(type_name(out->front()), "subscription.delivery_dead_lettered");
  s = subscription::evolve(s, out->front());
  ASSERT_EQ(s.dead_letters.size(), 1u);
  EXPECT_EQ(s.dead_letters[0].attempts, 5u);
}

TEST(subscription, bad_urls_are_refused_naming_url) {
  for (auto url : {"", "ftp://h/", "h/x", "http://", "http:///x", "http://user@h/", "http://h:0/", "http://h:70000/",
                   "http://h x/", "javascript:alert(1)", "http://[::1/", "http://h_h/"}) {
    auto out = subscription::decide({}, a_create(url));
    ASSERT_FALSE(out.ok()) << url;
    EXPECT_EQ(out.err().field, "url") << url;
  }
}

TEST(subscription, urls_parse_into_scheme_host_and_port) {
  auto u = parse_webhook_url("HTTPS://Hooks.Example.com:8443/a?b#c");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Hooks.Example.com");
  EXPECT_EQ(u->port, 8443);
  auto v6 = parse_webhook_url("http://[::ffff:127.0.0.1]/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::ffff:127.0.0.1");
  EXPECT_EQ(v6->port, 80);
}

TEST(subscription, filters_must_be_types_prefixes_or_star) {
  EXPECT_TRUE(validate_filters({"*"}).ok());
  EXPECT_TRUE(validate_filters({"task.completed", "task.*", "project.created"}).ok());
  for (auto bad : std::vector<std::vector<std::string>>{{}, {""}, {"Task.X"}, {"task.*.*"}, {".*"}, {"a b"}, {"task*"}}) {
    auto out = validate_filters(bad);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().field, "events");
  }
  EXPECT_FALSE(validate_filters(std::vector<std::string>(limits::filters + 1, "*")).ok());
}

TEST(subscription, secrets_are_non_empty_and_bounded) {
  EXPECT_EQ(validate_secret("").err().field, "secret");
  EXPECT_TRUE(validate_secret("s").ok());
  EXPECT_FALSE(validate_secret(std::string(limits::secret_bytes + 1, 'x')).ok());
}

} // namespace
} // namespace aetherium::notifications
