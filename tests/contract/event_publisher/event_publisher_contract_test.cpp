// The event_publisher contract: every case runs unchanged against each backend.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <random>

#include "events/canonical_json.hpp"
#include "events/hash_chain.hpp"
#include "tests/contract/event_publisher/backend.hpp"

using namespace aetherium;
using namespace std::chrono_literals;

namespace {

class event_publisher_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = aetherium::testing::make_publisher_backend();
    ASSERT_TRUE(backend_) << "no backend";
    publisher_ = backend_->publisher();
    std::random_device rd;
    category_ = "pc" + std::to_string(rd() % 1'000'000'000);
    topic_ = "aetherium." + category_;
  }

  recorded_event event(int stream, std::int64_t version, std::string payload = R"({"n": 1})") {
    recorded_event e;
    e.id = event_id{category_ + "-event-" + std::to_string(++counter_)};
    e.stream = stream_id{category_ + "-" + std::to_string(stream)};
    e.stream_version = version;
    e.type = "test.happened";
    e.schema_version = 2;
    e.payload = *canonical_json(payload);
    e.metadata = {"acme", "alice", "corr", "cause", "trace"};
    e.recorded_at_us = 1'700'000'000'000'000;
    e.position = counter_;
    e.prev_hash = prev_hash_;
    e.hash = chain_hash(prev_hash_, e);
    prev_hash_ = e.hash;
    return e;
  }

  /// Publishes and returns the outcome, waiting for the callback.
  result<void> publish_and_wait(const recorded_event& e) {
    std::promise<result<void>> done;
    auto future = done.get_future();
    publisher_->publish(e, [&done](result<void> res) { done.set_value(std::move(res)); });
    if (future.wait_for(60s) != std::future_status::ready)
      return make_error(errc::internal, "no delivery callback within 60 s");
    return future.get();
  }

  std::unique_ptr<aetherium::testing::publisher_backend> backend_;
  std::shared_ptr<event_publisher> publisher_;
  std::string category_, topic_, prev_hash_;
  int counter_ = 0;
};

TEST_F(event_publisher_contract, an_event_lands_on_its_category_topic_keyed_by_its_stream) {
  auto e = event(7, 1, R"({"title": "fix it", "price": 1.50})");
  auto res = publish_and_wait(e);
  ASSERT_TRUE(res.ok()) << res.err().detail;

  auto messages = backend_->read(topic_, 1, 60s);
  ASSERT_EQ(messages.size(), 1u);
  auto& m = messages[0];
  EXPECT_EQ(m.topic, topic_);
  EXPECT_EQ(m.key, category_ + "-7");
  ASSERT_TRUE(m.header(event_header::event_id));
  EXPECT_EQ(*m.header(event_header::event_id), e.id.str());
  ASSERT_TRUE(m.header(event_header::type));
  EXPECT_EQ(*m.header(event_header::type), "test.happened");
  ASSERT_TRUE(m.header(event_header::schema_version));
  EXPECT_EQ(*m.header(event_header::schema_version), "2");
  ASSERT_TRUE(m.header(event_header::position));
  EXPECT_EQ(*m.header(event_header::position), std::to_string(e.position));
  EXPECT_EQ(m.value, event_envelope_json(e));
}

TEST_F(event_publisher_contract, events_of_one_stream_arrive_and_call_back_in_publish_order) {
  constexpr int streams = 4, per_stream = 100;
  std::mutex mtx;
  std::map<std::string, std::vector<std::int64_t>> callback_order;
  std::vector<recorded_event> published;
  for (int v = 1; v <= per_stream; ++v)
    for (int s = 0; s < streams; ++s)
      published.push_back(event(s, v));
  std::atomic<int> failures{0};
  for (auto& e : published)
    publisher_->publish(e, [&, stream = e.stream.str(), v = e.stream_version](result<void> res) {
      if (!res)
        ++failures;
      std::lock_guard<std::mutex> guard{mtx};
      callback_order[stream].push_back(v);
    });
  ASSERT_TRUE(publisher_->flush(60s).ok());
  EXPECT_EQ(failures.load(), 0);

  for (auto& [stream, versions] : callback_order) {
    ASSERT_EQ(versions.size(), std::size_t{per_stream}) << stream;
    for (int i = 0; i < per_stream; ++i)
      EXPECT_EQ(versions[i], i + 1) << "callback order of " << stream;
  }
  std::map<std::string, std::int64_t> last;
  auto messages = backend_->read(topic_, published.size(), 60s);
  ASSERT_EQ(messages.size(), published.size());
  for (auto& m : messages) {
    auto version = std::stoll(*m.header(event_header::position));
    auto& seen = last[m.key];
    EXPECT_GT(version, seen) << "topic order of " << m.key;
    seen = version;
  }
}

TEST_F(event_publisher_contract, every_publish_gets_exactly_one_callback_before_flush_returns) {
  constexpr int n = 500;
  std::atomic<int> calls{0};
  for (int i = 0; i < n; ++i)
    publisher_->publish(event(i % 3, i / 3 + 1), [&calls](result<void>) { ++calls; });
  auto flushed = publisher_->flush(60s);
  ASSERT_TRUE(flushed.ok()) << flushed.err().detail;
  EXPECT_EQ(calls.load(), n);
  EXPECT_TRUE(publisher_->flush(0ms).ok()) << "nothing is outstanding any more";
}

TEST_F(event_publisher_contract, an_unusable_stream_category_fails_without_halting_the_publisher) {
  for (const char* bad : {"-42", "bad/name-1", ""}) {
    auto e = event(0, 1);
    e.stream = stream_id{bad};
    auto res = publish_and_wait(e);
    ASSERT_FALSE(res.ok()) << bad;
    EXPECT_EQ(res.err().code, errc::invalid_argument) << bad;
  }
  auto good = publish_and_wait(event(0, 1));
  EXPECT_TRUE(good.ok()) << good.err().detail;
}

TEST_F(event_publisher_contract, an_event_too_large_for_the_bus_fails_and_halts_the_publisher) {
  ASSERT_TRUE(publish_and_wait(event(0, 1)).ok());
  auto big = publish_and_wait(event(0, 2, R"({"blob": ")" + std::string(2'000'000, 'x') + "\"}"));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.err().code, errc::invalid_argument) << big.err().detail;

  auto after = publish_and_wait(event(0, 3));
  ASSERT_FALSE(after.ok()) << "a later event of the stream must not overtake the failed one";
  EXPECT_EQ(after.err().code, errc::invalid_argument) << after.err().detail;
  auto messages = backend_->read(topic_, 1, 20s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(*messages[0].header(event_header::position), "1");
}

} // namespace
