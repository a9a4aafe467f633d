// The embedded log consumer over the in-memory store and checkpoints: order, retries,
// and where a new consumer of the same name starts.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "events/clock.hpp"
#include "events/integrations/log_consumer.hpp"

using namespace aetherium;

namespace {

class log_consumer_test : public ::testing::Test {
protected:
  void append(const std::string& stream, int n) {
    for (int i = 0; i < n; ++i) {
      new_event e;
      e.id = event_id{"00000000-0000-4000-8000-" + std::to_string(100000000000 + ++ids_)};
      e.type = "test.happened";
      e.payload = "{}";
      ASSERT_TRUE(store_->append({stream_id{stream}, expected_version::any(), {e}}).ok());
    }
  }

  /// Waits up to 10 s for `done`.
  static bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }

  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<checkpoint_store> checkpoints_ = make_memory_checkpoint_store();
  int ids_ = 0;
};

TEST_F(log_consumer_test, events_reach_the_handler_once_each_in_position_order_then_live_ones_too) {
  append("a-1", 3);
  std::mutex mtx;
  std::vector<std::int64_t> seen;
  auto c = make_log_consumer(store_, checkpoints_, {"it"}, [&](const consumed_event& e) -> result<void> {
    std::lock_guard<std::mutex> lock{mtx};
    seen.push_back(e.event.position);
    return {};
  });
  ASSERT_TRUE(c.ok()) << c.err().detail;
  append("b-1", 2);
  ASSERT_TRUE(eventually([&] { std::lock_guard<std::mutex> lock{mtx}; return seen.size() == 5; }));
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(eventually([&] { return *checkpoints_->load("it") == 5; })) << "a caught-up consumer saves where it is";
  EXPECT_EQ((*c)->position(), 5);
  EXPECT_EQ((*c)->stats().handled, 5u);
}

TEST_F(log_consumer_test, a_failing_event_is_retried_until_it_succeeds_and_nothing_after_it_runs_first) {
  append("a-1", 3);
  std::mutex mtx;
  std::vector<std::int64_t> seen;
  std::atomic<int> failures{0};
  log_consumer_options o{"it"};
  o.backoff = std::chrono::milliseconds(5);
  auto c = make_log_consumer(store_, checkpoints_, o, [&](const consumed_event& e) -> result<void> {
    if (e.event.position == 2 && failures < 3) {
      ++failures;
      EXPECT_EQ(e.attempt, failures.load());
      return make_error(errc::unavailable, "the code host is down");
    }
    std::lock_guard<std::mutex> lock{mtx};
    seen.push_back(e.event.position);
    return {};
  });
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(eventually([&] { std::lock_guard<std::mutex> lock{mtx}; return seen.size() == 3; }));
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ((*c)->stats().retries, 3u);
}

TEST_F(log_consumer_test, a_consumer_of_the_same_name_starts_after_the_saved_checkpoint) {
  append("a-1", 4);
  {
    std::atomic<int> handled{0};
    auto first = make_log_consumer(store_, checkpoints_, {"it"}, [&](const consumed_event&) -> result<void> {
      ++handled;
      return {};
    });
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(eventually([&] { return handled == 4; }));
    (*first)->stop();
  }
  append("a-1", 2);
  std::vector<std::int64_t> seen;
  std::mutex mtx;
  auto second = make_log_consumer(store_, checkpoints_, {"it"}, [&](const consumed_event& e) -> result<void> {
    std::lock_guard<std::mutex> lock{mtx};
    seen.push_back(e.event.position);
    return {};
  });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(eventually([&] { std::lock_guard<std::mutex> lock{mtx}; return seen.size() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock{mtx};
  EXPECT_EQ(seen, (std::vector<std::int64_t>{5, 6})) << "handled events were handed over again";
}

TEST_F(log_consumer_test, a_log_longer_than_the_consumers_queue_is_handled_whole_and_in_order) {
  append("a-1", 10'000);
  std::atomic<std::int64_t> last{0};
  std::atomic<bool> ordered{true};
  auto c = make_log_consumer(store_, checkpoints_, {"it"}, [&](const consumed_event& e) -> result<void> {
    if (e.event.position != last + 1)
      ordered = false;
    last = e.event.position;
    return {};
  });
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(eventually([&] { return last == 10'000; })) << "stopped at " << last;
  EXPECT_TRUE(ordered);
  (*c)->stop();
}

TEST_F(log_consumer_test, a_consumer_without_a_name_or_handler_is_refused) {
  auto unnamed = make_log_consumer(store_, checkpoints_, {""}, [](const consumed_event&) -> result<void> { return {}; });
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.err().code, errc::invalid_argument);
  auto deaf = make_log_consumer(store_, checkpoints_, {"it"}, nullptr);
  ASSERT_FALSE(deaf.ok());
}

} // namespace
