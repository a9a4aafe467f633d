// The append-latency decorator times every append and changes nothing else.
#include <gtest/gtest.h>

#include "events/api/timed_event_store.hpp"
#include "events/clock.hpp"

using namespace aetherium;

namespace {

struct recording_histogram : api::histogram_metric {
  std::vector<double> seen;
  void observe(double v) override { seen.push_back(v); }
};

TEST(timed_event_store, observes_each_append_and_forwards_reads_and_errors) {
  auto inner = make_memory_event_store(make_system_clock());
  auto seconds = std::make_shared<recording_histogram>();
  auto store = api::observe_appends(inner, seconds);
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
}

} // namespace
