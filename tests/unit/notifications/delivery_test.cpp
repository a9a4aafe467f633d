#include <gtest/gtest.h>

#include "events/notifications/delivery.hpp"

namespace aetherium::notifications {
namespace {

using namespace std::chrono_literals;

recorded_event an_event(std::string type, std::string tenant, std::string stream = "task-1") {
  recorded_event e;
  e.id = event_id{"e-1"};
  e.stream = stream_id{std::move(stream)};
  e.type = std::move(type);
  e.payload = "{\"a\":1}";
  e.metadata.tenant = std::move(tenant);
  e.position = 7;
  return e;
}

subscription_state live(std::vector<std::string> filters, std::string tenant = "acme") {
  subscription_state s;
  s.exists = true;
  s.id = subscription_id{"s-1"};
  s.tenant = tenant_id{std::move(tenant)};
  s.events = std::move(filters);
  return s;
}

TEST(delivery, filters_match_exact_types_prefixes_and_star) {
  EXPECT_TRUE(filter_matches({"task.completed"}, "task.completed"));
  EXPECT_FALSE(filter_matches({"task.completed"}, "task.completed_late"));
  EXPECT_TRUE(filter_matches({"task.*"}, "task.failed"));
  EXPECT_FALSE(filter_matches({"task.*"}, "task"));
  EXPECT_FALSE(filter_matches({"task.*"}, "taskforce.created"));
  EXPECT_TRUE(filter_matches({"*"}, "anything.at_all"));
  EXPECT_FALSE(filter_matches({"project.created"}, "task.completed"));
}

TEST(delivery, only_live_subscriptions_of_the_event_tenant_receive_it) {
  auto e = an_event("task.completed", "acme");
  EXPECT_TRUE(should_deliver(live({"task.*"}), e));
  EXPECT_FALSE(should_deliver(live({"task.*"}, "beta"), e));
  EXPECT_FALSE(should_deliver(live({"project.*"}), e));
  auto deleted = live({"*"});
  deleted.deleted = true;
  EXPECT_FALSE(should_deliver(deleted, e));
  EXPECT_FALSE(should_deliver(live({"*"}), an_event("task.completed", "")));
}

TEST(delivery, events_of_subscription_streams_are_never_delivered) {
  EXPECT_FALSE(should_deliver(live({"*"}), an_event("subscription.delivery_dead_lettered", "acme", "subscription-s-1")));
}

TEST(delivery, the_signature_is_hmac_sha256_of_the_body_in_lowercase_hex) {
  // GitHub's documented webhook vector: the same construction.
  EXPECT_EQ(signature_header("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(delivery, a_notification_carries_the_envelope_and_its_headers) {
  auto s = live({"*"});
  auto e = an_event("task.completed", "acme");
  auto n = build_notification(s, "secret", e);
  EXPECT_NE(n.body.find("\"type\":\"task.completed\""), std::string::npos);
  EXPECT_NE(n.body.find("\"payload\":{\"a\":1}"), std::string::npos);
  std::map<std::string, std::string> h(n.headers.begin(), n.headers.end());
  EXPECT_EQ(h["Content-Type"], "application/json");
  EXPECT_EQ(h[headers::event], "task.completed");
  EXPECT_EQ(h[headers::signature], signature_header("secret", n.body));
  EXPECT_EQ(h[headers::delivery], delivery_id(s.id, e.id));
}

TEST(delivery, the_delivery_id_depends_only_on_subscription_and_event) {
  EXPECT_EQ(delivery_id(subscription_id{"s"}, event_id{"e"}), delivery_id(subscription_id{"s"}, event_id{"e"}));
  EXPECT_NE(delivery_id(subscription_id{"s"}, event_id{"e"}), delivery_id(subscription_id{"s2"}, event_id{"e"}));
  EXPECT_NE(delivery_id(subscription_id{"s"}, event_id{"e"}), delivery_id(subscription_id{"s"}, event_id{"e2"}));
}

TEST(delivery, backoff_doubles_from_the_first_delay_up_to_the_cap) {
  retry_policy p{6, 100ms, 500ms};
  EXPECT_EQ(delay_before(p, 1), 0ms);
  EXPECT_EQ(delay_before(p, 2), 100ms);
  EXPECT_EQ(delay_before(p, 3), 200ms);
  EXPECT_EQ(delay_before(p, 4), 400ms);
  EXPECT_EQ(delay_before(p, 5), 500ms);
  EXPECT_EQ(delay_before(p, 60), 500ms);
}

TEST(delivery, only_2xx_counts_as_delivered) {
  EXPECT_TRUE(delivered(200));
  EXPECT_TRUE(delivered(204));
  EXPECT_FALSE(delivered(301));
  EXPECT_FALSE(delivered(500));
  EXPECT_FALSE(delivered(0));
}

} // namespace
} // namespace aetherium::notifications
