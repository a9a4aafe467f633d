// The classic event-store gap: a transaction that took a lower position commits after one
// that took a higher position, and a reader that already moved past skips it forever.
// Here positions are handed out under the head lock, so the later writer cannot take a
// position until the earlier one commits. This test forces the race and watches a reader.
#include <future>
#include <mutex>
#include <thread>

#include <pqxx/pqxx>

#include "events/hash_chain.hpp"
#include "tests/integration/postgres/store_fixture.hpp"

using namespace aetherium;

namespace {

using gap_free_reading = aetherium::testing::store_fixture;

TEST_F(gap_free_reading, a_reader_never_sees_a_later_position_before_an_earlier_one_commits) {
  ASSERT_TRUE(store_->append(request("task-1", 2)).ok());

  // Writer A (a raw transaction following the protocol) takes position 3 and holds it.
  pqxx::connection conn_a{db_.url()};
  pqxx::work tx_a{conn_a};
  auto head = tx_a.exec1("SELECT last_position, last_hash FROM event_log_head FOR UPDATE");
  recorded_event e;
  e.id = event_id{ids_->next_uuid()};
  e.stream = stream_id{"task-a"};
  e.stream_version = 1;
  e.type = "test.happened";
  e.payload = "{}";
  e.position = head[0].as<std::int64_t>() + 1;
  e.prev_hash = head[1].as<std::string>();
  e.recorded_at_us = 1;
  e.hash = chain_hash(e.prev_hash, e);
  ASSERT_EQ(e.position, 3);
  tx_a.exec0("INSERT INTO events VALUES (3, " + tx_a.quote(e.id.str())
             + ", 'task-a', 1, 'test.happened', 1, '{}', " + tx_a.quote(metadata_json(e.metadata))
             + ", 'epoch'::timestamptz + interval '1 microsecond', " + tx_a.quote(e.prev_hash) + ", "
             + tx_a.quote(e.hash) + ")");

  // Writer B (the store) starts while A is open: it must wait, not take position 4.
  auto b = std::async(std::launch::async, [&] { return store_->append(request("task-b", 1)); });
  EXPECT_EQ(b.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto during = store_->read_all(0, 100);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(during->size(), 2u) << "a reader saw an uncommitted or out-of-order position";

  tx_a.commit();
  auto appended = b.get();
  ASSERT_TRUE(appended.ok()) << appended.err().detail;
  EXPECT_EQ(appended->first_position, 4);

  auto after = store_->read_all(2, 100);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].position, 3);
  EXPECT_EQ((*after)[0].stream.str(), "task-a");
  EXPECT_EQ((*after)[1].position, 4);
}

TEST_F(gap_free_reading, a_follower_sees_every_position_under_concurrent_writers) {
  std::vector<std::int64_t> seen;
  std::mutex mtx;
  auto sub = store_->subscribe(0, [&](const recorded_event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    seen.push_back(e.position);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(store_->append(request("task-" + std::to_string(t), 3)).ok());
    });
  for (auto& w : writers)
    w.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (seen.size() >= 1200 || std::chrono::steady_clock::now() > deadline)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sub->stop();
  ASSERT_EQ(seen.size(), 1200u);
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], static_cast<std::int64_t>(i + 1));
}

} // namespace
