// The database going away mid-append: a dropped connection is replaced and the batch sent
// again (callers get `unavailable` only when that fails too), no request is ever half
// written, and the store recovers by itself once the database answers again.
#include <atomic>
#include <iostream>
#include <thread>

#include "events/log_verifier.hpp"
#include "tests/integration/postgres/store_fixture.hpp"

using namespace aetherium;

namespace {

class outage : public aetherium::testing::store_fixture {
protected:
  /// Terminates the appender's connection; how many it terminated (0 or 1).
  int kill_appender() {
    return std::stoi(db_.query_value("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE application_name = 'aetherium-appender' AND datname = current_database()) k"));
  }

  std::size_t stored(const append_request& r) {
    std::string ids;
    for (auto& e : r.events)
      ids += (ids.empty() ? "'" : ",'") + e.id.str() + "'";
    return std::stoul(db_.query_value("SELECT count(*) FROM events WHERE event_id IN (" + ids + ")"));
  }
};

TEST_F(outage, an_append_on_a_killed_connection_is_sent_again_on_a_fresh_one) {
  ASSERT_TRUE(store_->append(request("task-1")).ok());
  kill_appender(); // as a database restart leaves the appender's connection
  auto next = request("task-1", 3);
  auto res = store_->append(next);
  ASSERT_TRUE(res.ok()) << "the first append after a dropped connection failed: " << res.err().detail;
  EXPECT_EQ(stored(next), 3u);
  auto again = store_->append(next); // the same events again are a duplicate, not new events
  ASSERT_TRUE(again.ok()) << again.err().detail;
  EXPECT_EQ(stored(next), 3u);
}

TEST_F(outage, connections_killed_during_concurrent_appends_never_leave_half_a_request) {
  ASSERT_TRUE(store_->append(request("task-0")).ok());
  std::atomic<bool> done{false};
  std::atomic<int> kills{0};
  std::thread killer{[&] {
    while (!done) {
      kills += kill_appender();
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
  }};
  struct outcome {
    append_request request;
    result<append_result> res;
  };
  std::vector<std::vector<outcome>> outcomes(4);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        auto r = request("task-" + std::to_string(t), 5);
        auto res = store_->append(r);
        outcomes[t].push_back({std::move(r), std::move(res)});
      }
    });
  for (auto& w : writers)
    w.join();
  done = true;
  killer.join();
  int failures = 0;
  for (auto& per_thread : outcomes)
    for (auto& o : per_thread) {
      auto n = stored(o.request);
      if (o.res.ok()) {
        EXPECT_EQ(n, 5u);
      } else {
        ++failures;
        EXPECT_EQ(o.res.err().code, errc::unavailable) << o.res.err().detail;
        EXPECT_TRUE(n == 0 || n == 5) << "half-written request: " << n << " of 5 events";
      }
    }
  EXPECT_GT(kills.load(), 0) << "no connection was killed while appending; the test proved nothing";
  std::cerr << kills.load() << " connections killed, " << failures << " appends answered unavailable\n";
  auto report = verify_log(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact) << report->reason;
}

} // namespace
