// The event_store contract: every case runs unchanged against each backend.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "events/clock.hpp"
#include "events/log_verifier.hpp"
#include "tests/contract/event_store/backend.hpp"

using namespace aetherium;
using aetherium::testing::make_backend;

namespace {

class event_store_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    store_ = backend_->store();
  }

  new_event event(std::string payload = R"({"n": 1})", std::string type = "test.happened") {
    return new_event{event_id{ids_->next_uuid()}, std::move(type), 1, std::move(payload), {"acme", "alice", "corr", "cause", "trace"}};
  }

  append_request request(const std::string& stream, expected_version expected, std::size_t n = 1) {
    append_request r{stream_id{stream}, expected, {}};
    for (std::size_t i = 0; i < n; ++i)
      r.events.push_back(event(R"({"i": )" + std::to_string(i) + "}"));
    return r;
  }

  std::int64_t head() { return *store_->head_position(); }

  errc append_error(append_request r) {
    auto res = store_->append(std::move(r));
    EXPECT_FALSE(res.ok());
    return res.ok() ? errc::internal : res.err().code;
  }

  std::unique_ptr<aetherium::testing::backend> backend_;
  std::shared_ptr<event_store> store_;
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
};

TEST_F(event_store_contract, append_to_a_new_stream_assigns_versions_and_positions_from_one) {
  auto res = store_->append(request("task-1", expected_version::no_stream(), 3));
  ASSERT_TRUE(res.ok()) << res.err().detail;
  EXPECT_EQ(res->first_position, 1);
  EXPECT_EQ(res->last_position, 3);
  EXPECT_EQ(res->stream_version, 3);
  EXPECT_FALSE(res->duplicate);
  EXPECT_EQ(head(), 3);
}

TEST_F(event_store_contract, read_stream_returns_what_was_appended_in_order) {
  auto req = request("task-7", expected_version::no_stream(), 2);
  req.events[0].payload = R"({ "b": [1, 2], "a" : "x" })";
  auto ids = std::vector<event_id>{req.events[0].id, req.events[1].id};
  ASSERT_TRUE(store_->append(req).ok());
  ASSERT_TRUE(store_->append(request("task-8", expected_version::any())).ok());
  auto events = store_->read_stream(stream_id{"task-7"});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  auto& first = (*events)[0];
  EXPECT_EQ(first.id, ids[0]);
  EXPECT_EQ(first.stream.str(), "task-7");
  EXPECT_EQ(first.stream_version, 1);
  EXPECT_EQ(first.type, "test.happened");
  EXPECT_EQ(first.payload, R"({"a": "x", "b": [1, 2]})");
  EXPECT_EQ(first.metadata.tenant, "acme");
  EXPECT_EQ(first.metadata.principal, "alice");
  EXPECT_EQ(first.metadata.correlation_id, "corr");
  EXPECT_EQ(first.metadata.causation_id, "cause");
  EXPECT_EQ(first.metadata.trace_id, "trace");
  EXPECT_EQ(first.recorded_at_us, backend_->clock->now_us());
  EXPECT_EQ((*events)[1].id, ids[1]);
  EXPECT_EQ((*events)[1].stream_version, 2);
  EXPECT_EQ(store_->read_stream(stream_id{"task-7"}, 1)->size(), 1u);
  EXPECT_TRUE(store_->read_stream(stream_id{"nope-1"})->empty());
}

TEST_F(event_store_contract, a_stale_expected_version_is_a_conflict_and_writes_nothing) {
  ASSERT_TRUE(store_->append(request("task-1", expected_version::no_stream())).ok());
  EXPECT_EQ(append_error(request("task-1", expected_version::no_stream())), errc::conflict);
  EXPECT_EQ(append_error(request("task-1", expected_version::exactly(5))), errc::conflict);
  EXPECT_EQ(append_error(request("task-2", expected_version::exactly(1))), errc::conflict);
  EXPECT_EQ(head(), 1);
  EXPECT_TRUE(store_->append(request("task-1", expected_version::exactly(1))).ok());
  EXPECT_TRUE(store_->append(request("task-1", expected_version::any())).ok());
  EXPECT_EQ(store_->read_stream(stream_id{"task-1"})->back().stream_version, 3);
}

TEST_F(event_store_contract, re_appending_the_same_event_ids_is_idempotent) {
  auto req = request("task-1", expected_version::no_stream(), 2);
  auto first = store_->append(req);
  ASSERT_TRUE(first.ok());
  auto again = store_->append(req);
  ASSERT_TRUE(again.ok()) << again.err().detail;
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_position, first->first_position);
  EXPECT_EQ(again->last_position, first->last_position);
  EXPECT_EQ(head(), 2);
}

TEST_F(event_store_contract, an_event_id_reused_elsewhere_or_in_part_is_a_conflict) {
  auto req = request("task-1", expected_version::any(), 2);
  ASSERT_TRUE(store_->append(req).ok());
  auto other_stream = req;
  other_stream.stream = stream_id{"task-2"};
  EXPECT_EQ(append_error(other_stream), errc::conflict);
  auto partial = request("task-1", expected_version::any(), 1);
  partial.events.push_back(req.events[0]);
  EXPECT_EQ(append_error(partial), errc::conflict);
  EXPECT_EQ(head(), 2);
}

TEST_F(event_store_contract, bad_input_is_rejected_with_the_field_and_nothing_is_written) {
  auto check = [&](append_request r, const char* field) {
    auto res = store_->append(std::move(r));
    ASSERT_FALSE(res.ok()) << field;
    EXPECT_EQ(res.err().code, errc::invalid_argument) << field;
    EXPECT_EQ(res.err().field, field);
  };
  check(request("", expected_version::any()), "stream_id");
  check(request(std::string(257, 's'), expected_version::any()), "stream_id");
  auto r = request("task-1", expected_version::any());
  r.events[0].type = "";
  check(r, "type");
  r.events[0].type = std::string(257, 't');
  check(r, "type");
  r = request("task-1", expected_version::any());
  r.events[0].payload = "{not json";
  check(r, "payload");
  r.events[0].payload = "[1, 2]";
  check(r, "payload");
  r = request("task-1", expected_version::any());
  r.events[0].id = event_id{"not-a-uuid"};
  check(r, "event_id");
  check(append_request{stream_id{"task-1"}, expected_version::any(), {}}, "events");
  EXPECT_EQ(head(), 0);
  // The limits are inclusive: 256 bytes are fine.
  EXPECT_TRUE(store_->append(request(std::string(256, 's'), expected_version::any())).ok());
}

TEST_F(event_store_contract, read_all_pages_through_the_log_in_position_order) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->append(request("task-" + std::to_string(i % 2), expected_version::any(), 3)).ok());
  std::vector<std::int64_t> seen;
  std::int64_t after = 0;
  for (;;) {
    auto page = store_->read_all(after, 4);
    ASSERT_TRUE(page.ok());
    if (page->empty())
      break;
    EXPECT_LE(page->size(), 4u);
    for (auto& e : *page)
      seen.push_back(after = e.position);
  }
  ASSERT_EQ(seen.size(), 15u);
  for (std::size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], static_cast<std::int64_t>(i + 1));
}

TEST_F(event_store_contract, read_category_pages_through_one_category_in_position_order) {
  // Interleaved: tenants, tasks, and a stream whose name only starts like the category.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_->append(request("tenant-" + std::to_string(i % 2), expected_version::any(), 1)).ok());
    ASSERT_TRUE(store_->append(request("task-" + std::to_string(i), expected_version::any(), 2)).ok());
    ASSERT_TRUE(store_->append(request("tenants_archive-1", expected_version::any(), 1)).ok());
  }
  std::vector<std::int64_t> seen;
  std::int64_t after = 0;
  for (;;) {
    auto page = store_->read_category("tenant", after, 3);
    ASSERT_TRUE(page.ok()) << page.err().detail;
    if (page->empty())
      break;
    EXPECT_LE(page->size(), 3u);
    for (auto& e : *page) {
      EXPECT_EQ(stream_category(e.stream), "tenant") << e.stream.str();
      EXPECT_GT(e.position, after);
      seen.push_back(after = e.position);
    }
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 5, 9, 13}));
  // '_' in a category is a character, not a wildcard.
  ASSERT_TRUE(store_->append(request("api_key-1", expected_version::any(), 1)).ok());
  ASSERT_TRUE(store_->append(request("apiXkey-1", expected_version::any(), 1)).ok());
  auto keys = store_->read_category("api_key", 0, 10);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().stream.str(), "api_key-1");
  auto none = store_->read_category("project", 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(event_store_contract, every_event_links_to_the_previous_one_by_hash) {
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(store_->append(request("task-1", expected_version::any(), 2)).ok());
  auto all = store_->read_all(0, 100);
  ASSERT_EQ(all->size(), 8u);
  EXPECT_EQ((*all)[0].prev_hash, "");
  for (std::size_t i = 1; i < all->size(); ++i)
    EXPECT_EQ((*all)[i].prev_hash, (*all)[i - 1].hash);
  auto report = verify_log(*store_, 3);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact) << report->reason;
  EXPECT_EQ(report->events_checked, 8);
  EXPECT_EQ(report->head_position, 8);
}

TEST_F(event_store_contract, subscribe_catches_up_then_follows_live_appends) {
  ASSERT_TRUE(store_->append(request("task-1", expected_version::any(), 3)).ok());
  std::mutex mtx;
  std::vector<std::int64_t> got;
  auto sub = store_->subscribe(1, [&](const recorded_event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    got.push_back(e.position);
  });
  ASSERT_TRUE(store_->append(request("task-2", expected_version::any(), 2)).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (got.size() >= 4 || std::chrono::steady_clock::now() > deadline)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  sub->stop();
  EXPECT_EQ(got, (std::vector<std::int64_t>{2, 3, 4, 5}));
}

TEST_F(event_store_contract, concurrent_appends_get_unique_contiguous_positions) {
  constexpr int threads = 8, per_thread = 40;
  std::atomic<int> conflicts{0}, ok{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Half the threads race on one shared stream with a version they read first.
        bool shared = t % 2 == 0;
        auto stream = shared ? std::string{"task-shared"} : "task-" + std::to_string(t);
        auto expected = expected_version::any();
        if (shared)
          expected = expected_version::exactly(
            static_cast<std::int64_t>(store_->read_stream(stream_id{stream})->size()));
        auto res = store_->append(request(stream, expected, 2));
        (res.ok() ? ok : conflicts)++;
        if (!res.ok()) {
          EXPECT_EQ(res.err().code, errc::conflict);
        }
      }
    });
  for (auto& th : pool)
    th.join();
  EXPECT_EQ(ok + conflicts, threads * per_thread);
  EXPECT_EQ(head(), ok * 2);
  auto shared = store_->read_stream(stream_id{"task-shared"});
  for (std::size_t i = 0; i < shared->size(); ++i)
    EXPECT_EQ((*shared)[i].stream_version, static_cast<std::int64_t>(i + 1));
  auto report = verify_log(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact) << report->reason;
  EXPECT_EQ(report->events_checked, ok * 2);
}

TEST_F(event_store_contract, async_append_answers_every_caller_once) {
  constexpr int n = 200;
  std::atomic<int> answered{0}, succeeded{0};
  for (int i = 0; i < n; ++i)
    store_->append_async(request("task-" + std::to_string(i % 10), expected_version::any()),
                         [&](result<append_result> r) {
                           if (r.ok())
                             ++succeeded;
                           ++answered;
                         });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (answered < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(answered.load(), n);
  EXPECT_EQ(succeeded.load(), n);
  EXPECT_EQ(head(), n);
}

TEST_F(event_store_contract, checkpoints_start_at_zero_and_never_move_backwards) {
  auto cp = backend_->checkpoints();
  EXPECT_EQ(*cp->load("relay"), 0);
  ASSERT_TRUE(cp->save("relay", 10).ok());
  EXPECT_EQ(*cp->load("relay"), 10);
  ASSERT_TRUE(cp->save("relay", 4).ok());
  EXPECT_EQ(*cp->load("relay"), 10);
  ASSERT_TRUE(cp->save("relay", 12).ok());
  EXPECT_EQ(*cp->load("relay"), 12);
  EXPECT_EQ(*cp->load("other"), 0);
  auto bad = cp->save("", 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::invalid_argument);
}

} // namespace
