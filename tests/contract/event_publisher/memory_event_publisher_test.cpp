// The fake's own test hooks: holding deliveries back and injecting a failure.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "events/event_publisher.hpp"

using namespace aetherium;
using namespace std::chrono_literals;

namespace {

recorded_event event(int n) {
  recorded_event e;
  e.id = event_id{"e" + std::to_string(n)};
  e.stream = stream_id{"task-1"};
  e.stream_version = n;
  e.type = "test.happened";
  e.payload = "{}";
  e.position = n;
  return e;
}

TEST(memory_event_publisher, held_deliveries_wait_for_release_and_keep_their_order) {
  auto publisher = make_memory_event_publisher();
  std::vector<std::int64_t> called;
  publisher->hold();
  for (int i = 1; i <= 3; ++i)
    publisher->publish(event(i), [&called, i](result<void> res) {
      EXPECT_TRUE(res.ok());
      called.push_back(i);
    });
  EXPECT_TRUE(called.empty());
  EXPECT_EQ(publisher->pending(), 3u);
  EXPECT_TRUE(publisher->messages().empty());
  auto flushed = publisher->flush(0ms);
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.err().code, errc::unavailable);

  publisher->release();
  EXPECT_EQ(called, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(publisher->messages("aetherium.task").size(), 3u);
  EXPECT_TRUE(publisher->flush(0ms).ok());
}

TEST(memory_event_publisher, flush_returns_once_another_thread_releases) {
  auto publisher = make_memory_event_publisher();
  publisher->hold();
  publisher->publish(event(1), [](result<void>) {});
  std::thread releaser{[&] { publisher->release(); }};
  EXPECT_TRUE(publisher->flush(10s).ok());
  releaser.join();
}

TEST(memory_event_publisher, an_injected_failure_halts_later_publishes) {
  auto publisher = make_memory_event_publisher();
  publisher->fail_next(make_error(errc::unavailable, "broker gone"));
  std::optional<result<void>> first, second;
  publisher->publish(event(1), [&first](result<void> res) { first = res; });
  publisher->publish(event(2), [&second](result<void> res) { second = res; });
  ASSERT_TRUE(first && second);
  ASSERT_FALSE(first->ok());
  EXPECT_EQ(first->err().code, errc::unavailable);
  ASSERT_FALSE(second->ok());
  EXPECT_EQ(second->err().code, errc::unavailable);
  EXPECT_NE(second->err().detail.find("halted"), std::string::npos);
  EXPECT_TRUE(publisher->messages().empty());
}

} // namespace
