// One suite of cases, run against the in-memory store and the event-log store (over the
// in-memory event log).
#include <gtest/gtest.h>

#include "adapters/json/event_log_subscription_store.hpp"

namespace aetherium::testing {
namespace {

using namespace notifications;

enum class kind { memory, event_log };

class subscription_store_contract : public ::testing::TestWithParam<kind> {
protected:
  std::shared_ptr<subscription_store> open() {
    if (GetParam() == kind::memory)
      return memory_ ? memory_ : (memory_ = make_memory_subscription_store());
    return make_event_log_subscription_store(log_, make_random_id_generator());
  }
  subscription_created created(const std::string& id) {
    return {subscription_id{id}, tenant_id{"acme"}, "https://h.example/x", {"task.*"}, 5};
  }

  std::shared_ptr<event_store> log_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<subscription_store> memory_;
};

TEST_P(subscription_store_contract, recorded_events_fold_into_the_state_at_once) {
  auto store = open();
  ASSERT_TRUE(store->record(subscription_id{"s1"}, tenant_id{"acme"}, "key:k", {created("s1")}, 0).ok());
  auto s = store->load(subscription_id{"s1"});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->exists);
  EXPECT_EQ(s->url, "https://h.example/x");
  EXPECT_EQ(s->version, 1);
  EXPECT_GT(s->created_position, 0);
  subscription_delivery_dead_lettered d{"e1", "task.failed", 3, 5, 500, "HTTP 500", 9};
  ASSERT_TRUE(store->record(subscription_id{"s1"}, tenant_id{"acme"}, "notifier", {d}, 1).ok());
  EXPECT_EQ(store->load(subscription_id{"s1"})->dead_letters.size(), 1u);
}

TEST_P(subscription_store_contract, a_stale_expected_version_is_a_conflict) {
  auto store = open();
  ASSERT_TRUE(store->record(subscription_id{"s1"}, tenant_id{"acme"}, "k", {created("s1")}, 0).ok());
  auto again = store->record(subscription_id{"s1"}, tenant_id{"acme"}, "k", {subscription_deleted{6}}, 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::conflict);
}

TEST_P(subscription_store_contract, all_lists_every_subscription_oldest_first_deleted_ones_included) {
  auto store = open();
  ASSERT_TRUE(store->record(subscription_id{"b"}, tenant_id{"acme"}, "k", {created("b")}, 0).ok());
  ASSERT_TRUE(store->record(subscription_id{"a"}, tenant_id{"acme"}, "k", {created("a")}, 0).ok());
  ASSERT_TRUE(store->record(subscription_id{"b"}, tenant_id{"acme"}, "k", {subscription_deleted{6}}, 1).ok());
  auto reopened = open();
  auto all = reopened->all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id.str(), "b");
  EXPECT_TRUE(all[0].deleted);
  EXPECT_EQ(all[1].id.str(), "a");
  EXPECT_FALSE(reopened->load(subscription_id{"none"})->exists);
}

INSTANTIATE_TEST_SUITE_P(both, subscription_store_contract, ::testing::Values(kind::memory, kind::event_log),
                         [](const auto& info) { return info.param == kind::memory ? "memory" : "event_log"; });

TEST(event_log_subscription_store, the_secret_is_nowhere_in_the_log) {
  auto log = make_memory_event_store(make_system_clock());
  auto store = make_event_log_subscription_store(log, make_random_id_generator());
  ASSERT_TRUE(store->record(subscription_id{"s1"}, tenant_id{"acme"}, "k",
                            {subscription_created{subscription_id{"s1"}, tenant_id{"acme"}, "https://h/", {"*"}, 1}}, 0)
                .ok());
  auto events = log->read_all(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().type, "subscription.created");
  EXPECT_EQ(events->front().stream.str(), "subscription-s1");
  EXPECT_EQ(events->front().metadata.tenant, "acme");
  EXPECT_EQ(events->front().payload.find("secret"), std::string::npos);
}

} // namespace
} // namespace aetherium::testing
