// The audit feed and task histories read from the log: same pages and cursors the API
// always gave, tenant isolation, and bounded work per page.
#include <gtest/gtest.h>

#include "events/clock.hpp"
#include "events/read_model/audit_feed.hpp"

using namespace aetherium;
using namespace aetherium::read_model;

namespace {

class audit_feed_test : public ::testing::Test {
protected:
  static std::string uuid(int n) {
    auto digits = std::to_string(n);
    return "00000000-0000-4000-8000-" + std::string(12 - digits.size(), '0') + digits;
  }

  void append(const std::string& stream, const std::string& type, const std::string& tenant, int count = 1) {
    append_request r{stream_id{stream}, expected_version::any(), {}};
    for (int i = 0; i < count; ++i)
      r.events.push_back({event_id{uuid(++n_)}, type, 1, "{\"n\":" + std::to_string(n_) + "}",
                          {tenant, "", "", "", ""}});
    ASSERT_TRUE(store_->append(std::move(r)).ok());
  }

  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  int n_ = 0;
};

TEST_F(audit_feed_test, pages_by_position_within_the_tenant) {
  append("project-a", "project.created", "acme");   // 1
  append("task-1", "task.requested", "acme");        // 2
  append("task-2", "task.requested", "globex");      // 3
  append("apikey-k", "api_key.created", "acme");     // 4: not part of the feed
  append("task-1", "task.failed", "acme");           // 5
  auto first = events_after(*store_, tenant_id{"acme"}, 0, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events.size(), 2u);
  EXPECT_EQ(first->events[0].position, 1);
  EXPECT_EQ(first->events[1].type, "task.requested");
  EXPECT_EQ(first->next_after, 2);
  auto rest = events_after(*store_, tenant_id{"acme"}, first->next_after, 2);
  ASSERT_EQ(rest->events.size(), 1u) << "globex's event is looked at and skipped, the key's is not in the feed";
  EXPECT_EQ(rest->events[0].position, 5);
  EXPECT_EQ(rest->next_after, 5);
  auto none = events_after(*store_, tenant_id{"acme"}, 5, 10);
  EXPECT_TRUE(none->events.empty());
  EXPECT_EQ(none->next_after, 5);
  auto globex = events_after(*store_, tenant_id{"globex"}, 0, 100);
  ASSERT_EQ(globex->events.size(), 1u);
  EXPECT_EQ(globex->events[0].stream, "task-2");
  EXPECT_EQ(events_after(*store_, tenant_id{"acme"}, -1, 1).err().field, "after");
  EXPECT_EQ(events_after(*store_, tenant_id{"acme"}, 0, 1001).err().field, "limit");
}

TEST_F(audit_feed_test, a_page_reads_a_bounded_number_of_rows_and_its_cursor_resumes) {
  append("node-n", "node.seen", "", static_cast<int>(audit_scan_budget + 10)); // outside the feed
  append("task-1", "task.requested", "acme");
  auto first = events_after(*store_, tenant_id{"acme"}, 0, 10);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->events.empty());
  EXPECT_GT(first->next_after, 0);
  EXPECT_LE(first->next_after, static_cast<std::int64_t>(audit_scan_budget + audit_read_page));
  auto second = events_after(*store_, tenant_id{"acme"}, first->next_after, 10);
  ASSERT_EQ(second->events.size(), 1u);
  EXPECT_EQ(second->events[0].stream, "task-1");
}

TEST_F(audit_feed_test, a_stream_reads_in_version_order) {
  append("task-1", "task.requested", "acme");
  append("task-2", "task.requested", "acme");
  append("task-1", "task.scheduled", "acme");
  auto events = stream_events(*store_, stream_id{"task-1"});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].version, 1);
  EXPECT_EQ((*events)[1].type, "task.scheduled");
  EXPECT_EQ((*events)[1].position, 3);
  EXPECT_TRUE(stream_events(*store_, stream_id{"task-9"})->empty());
}

} // namespace
