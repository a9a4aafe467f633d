// The append-latency decorator times every append and changes nothing else.
#include <gtest/gtest.h>

#include "events/api/timed_event_store.hpp"
#include "events/clock.hpp"

using namespace aetherium;

namespace {

struct counting_counter : api::counter_metric {
  double total = 0;
  void inc(double d) override { total += d; }
};

/// Refuses every append as unavailable: the database is down.
class down_store : public event_store {
public:
  void append_async(append_request, append_callback done) override {
    done(make_error(errc::unavailable, "database unreachable"));
  }
  result<std::vector<recorded_event>> read_stream(const stream_id&, std::int64_t) override { return std::vector<recorded_event>{}; }
  result<std::vector<recorded_event>> read_all(std::int64_t, std::size_t) override { return std::vector<recorded_event>{}; }
  result<std::int64_t> head_position() override { return std::int64_t{0}; }
  std::unique_ptr<subscription> subscribe(std::int64_t, event_handler) override { return nullptr; }
};

struct recording_histogram : api::histogram_metric {
  std::vector<double> seen;
  void observe(double v) override { seen.push_back(v); }
};

TEST(timed_event_store, observes_each_append_and_forwards_reads_and_errors) {
  auto inner = make_memory_event_store(make_system_clock());
  auto seconds = std::make_shared<recording_histogram>();
  auto unavailable = std::make_shared<counting_counter>();
  auto store = api::observe_appends(inner, seconds, unavailable);
  auto ok = store->append({stream_id{"task-1"}, expected_version::no_stream(),
                           {{event_id{"00000000-0000-4000-8000-000000000001"}, "task.requested", 1, "{}", {"acme"}}}});
  ASSERT_TRUE(ok.ok()) << ok.err().detail;
  auto conflict = store->append({stream_id{"task-1"}, expected_version::no_stream(),
                                 {{event_id{"00000000-0000-4000-8000-000000000002"}, "task.requested", 1, "{}", {"acme"}}}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.err().code, errc::conflict);
  ASSERT_EQ(seconds->seen.size(), 2u);
  EXPECT_GE(seconds->seen[0], 0.0);
  EXPECT_LT(seconds->seen[0], 60.0);
  EXPECT_EQ(store->read_stream(stream_id{"task-1"})->size(), 1u);
  EXPECT_EQ(*store->head_position(), 1);
  EXPECT_EQ(inner->read_all(0, 10)->size(), 1u);
  EXPECT_EQ(unavailable->total, 0) << "a conflict is not an outage";
}

TEST(timed_event_store, counts_the_appends_a_down_store_refused) {
  auto seconds = std::make_shared<recording_histogram>();
  auto unavailable = std::make_shared<counting_counter>();
  auto store = api::observe_appends(std::make_shared<down_store>(), seconds, unavailable);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(store->append({stream_id{"task-1"}, expected_version::any(), {}}).err().code, errc::unavailable);
  EXPECT_EQ(unavailable->total, 3);
}

} // namespace
