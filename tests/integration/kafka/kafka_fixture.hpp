#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/kafka/kafka_event_consumer.hpp"
#include "adapters/kafka/kafka_event_publisher.hpp"
#include "events/canonical_json.hpp"
#include "events/event_consumer.hpp"
#include "events/event_publisher.hpp"
#include "events/hash_chain.hpp"
#include "tests/support/run_command.hpp"

namespace aetherium::testing {

using namespace std::chrono_literals;

/// Reads a required environment variable; the test fails (never skips) without it.
inline void require_env(const char* name, std::string& out) {
  const char* value = std::getenv(name);
  ASSERT_TRUE(value && *value)
      << name << " is not set, so there is no Kafka broker to test against. Run the suite "
      << "with `bash deploy/test.sh`, or start one with `source deploy/lib/kafka.sh && "
      << "kafka_start /tmp/kafka` and export AETHERIUM_TEST_KAFKA_BROKERS=$KAFKA_BROKERS "
      << "AETHERIUM_TEST_KAFKA_DIR=/tmp/kafka (docs/kafka.md).";
  out = value;
}

/// A stream category no other test run uses, so each test has topics of its own.
inline std::string unique_category() {
  static const char* hex = "0123456789abcdef";
  std::random_device rd;
  std::string out = "kt";
  for (int i = 0; i < 10; ++i)
    out += hex[rd() % 16];
  return out;
}

/// `total` events spread round-robin over `streams` streams "<category>-<i>", with
/// positions from 1, versions from 1 per stream, and a valid hash chain.
inline std::vector<recorded_event> make_events(const std::string& category, int streams, int total,
                                               const std::string& type = "test.happened") {
  std::vector<recorded_event> out;
  std::map<int, std::int64_t> versions;
  std::string prev;
  std::mt19937_64 rng{std::random_device{}()};
  for (int i = 0; i < total; ++i) {
    recorded_event e;
    int s = i % streams;
    e.id = event_id{category + "-e" + std::to_string(i) + "-" + std::to_string(rng() % 1000000)};
    e.stream = stream_id{category + "-" + std::to_string(s)};
    e.stream_version = ++versions[s];
    e.type = type;
    e.payload = *canonical_json(R"({"i": )" + std::to_string(i) +
                                R"(, "note": "x \"q\"", "price": 1.50})");
    e.metadata = {"acme", "alice", "corr-" + std::to_string(i), "", ""};
    e.recorded_at_us = 1'700'000'000'000'000 + i;
    e.position = i + 1;
    e.prev_hash = prev;
    e.hash = chain_hash(prev, e);
    prev = e.hash;
    out.push_back(std::move(e));
  }
  return out;
}

/// Recomputes the hash chain after a test changed events made by make_events.
inline void rehash(std::vector<recorded_event>& events) {
  std::string prev;
  for (auto& e : events) {
    e.prev_hash = prev;
    e.hash = chain_hash(prev, e);
    prev = e.hash;
  }
}

/// Polls `pred` every 10 ms until it holds or `timeout` passes; returns its last value.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Counts delivery callbacks and keeps the errors.
class delivery_tally {
public:
  event_publisher::delivery_callback callback() {
    return [this](result<void> res) {
      std::lock_guard<std::mutex> guard{mtx_};
      if (res)
        ++ok_;
      else
        errors_.push_back(res.err());
      changed_.notify_all();
    };
  }
  std::size_t ok() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return ok_;
  }
  std::vector<error> errors() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return errors_;
  }
  /// Waits until `n` callbacks (of either kind) ran; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return changed_.wait_for(lock, timeout, [&] { return ok_ + errors_.size() >= n; });
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable changed_;
  std::size_t ok_ = 0;
  std::vector<error> errors_;
};

/// Records what a consumer hands to its handler, in handling order.
class collector {
public:
  /// A handler that records every event and returns `verdict(event)` (ok by default).
  consumed_event_handler handler(
      std::function<result<void>(const consumed_event&)> verdict = nullptr) {
    return [this, verdict](const consumed_event& item) -> result<void> {
      auto res = verdict ? verdict(item) : result<void>{};
      std::lock_guard<std::mutex> guard{mtx_};
      calls_.push_back(item);
      if (res)
        distinct_.insert(item.event.id.str());
      changed_.notify_all();
      return res;
    };
  }
  /// Waits until `n` distinct events were handled successfully; false on timeout.
  bool wait_distinct(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return changed_.wait_for(lock, timeout, [&] { return distinct_.size() >= n; });
  }
  /// Waits until `pred(calls)` holds; false on timeout.
  bool wait_until(std::function<bool(const std::vector<consumed_event>&)> pred,
                  std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return changed_.wait_for(lock, timeout, [&] { return pred(calls_); });
  }
  std::vector<consumed_event> calls() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return calls_;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable changed_;
  std::vector<consumed_event> calls_;
  std::set<std::string> distinct_;
};

/// Consumer options for a fresh group reading `topics` from the beginning.
inline kafka_event_consumer_options consumer_options(std::vector<std::string> topics,
                                                     std::string group = {}) {
  kafka_event_consumer_options o;
  o.group_id = group.empty() ? "test-" + unique_category() : std::move(group);
  o.topics = std::move(topics);
  o.retry_backoff = 10ms;
  o.max_retry_backoff = 50ms;
  return o;
}

/// The first occurrence of each event id, in the order given.
inline std::vector<recorded_event> first_occurrences(const std::vector<consumed_event>& calls) {
  std::set<std::string> seen;
  std::vector<recorded_event> out;
  for (auto& c : calls)
    if (seen.insert(c.event.id.str()).second)
      out.push_back(c.event);
  return out;
}

/// Checks that `seen` holds every event of `published` and that each stream's events come
/// in stream_version order 1, 2, 3, ...
inline void expect_complete_and_ordered(const std::vector<recorded_event>& seen,
                                        const std::vector<recorded_event>& published) {
  std::set<std::string> ids;
  std::map<std::string, std::int64_t> last_version;
  std::size_t out_of_order = 0;
  for (auto& e : seen) {
    ids.insert(e.id.str());
    auto& last = last_version[e.stream.str()];
    if (e.stream_version != last + 1 && ++out_of_order <= 5)
      ADD_FAILURE() << "stream " << e.stream.str() << ": version " << e.stream_version
                    << " came after " << last;
    last = e.stream_version;
  }
  std::size_t missing = 0;
  for (auto& e : published)
    if (!ids.count(e.id.str()) && ++missing <= 5)
      ADD_FAILURE() << "event at position " << e.position << " never arrived";
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(out_of_order, 0u);
}

/// Reads a whole topic with kcat (-e: stop at the end), one line per message in `format`.
inline command_output kcat_read(const std::string& brokers, const std::string& topic,
                                const std::string& format) {
  return run_command("timeout 60 kcat -C -b " + brokers + " -t " + topic +
                     " -o beginning -e -q -f '" + format + "'");
}

/// A broker from the environment, a topic of its own and a publisher.
class kafka_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(require_env("AETHERIUM_TEST_KAFKA_BROKERS", brokers_));
    category_ = unique_category();
    topic_ = "aetherium." + category_;
    auto publisher = make_kafka_event_publisher(brokers_);
    ASSERT_TRUE(publisher.ok()) << publisher.err().detail;
    publisher_ = *publisher;
  }

  /// Publishes `events` and waits until every delivery succeeded.
  void publish_all(const std::vector<recorded_event>& events) {
    delivery_tally tally;
    for (auto& e : events)
      publisher_->publish(e, tally.callback());
    auto flushed = publisher_->flush(120s);
    ASSERT_TRUE(flushed.ok()) << flushed.err().detail;
    auto errors = tally.errors();
    ASSERT_TRUE(errors.empty()) << errors.front().detail;
    ASSERT_EQ(tally.ok(), events.size());
  }

  /// Starts a consumer of this test's topic; fails the test when it cannot.
  std::unique_ptr<event_consumer> consume(kafka_event_consumer_options options,
                                          consumed_event_handler handler) {
    auto consumer = make_kafka_event_consumer(brokers_, std::move(options), std::move(handler));
    EXPECT_TRUE(consumer.ok()) << consumer.err().detail;
    return consumer ? std::move(*consumer) : nullptr;
  }

  /// Reads this test's topic in a fresh group until `distinct` events arrived (or
  /// `timeout` passed; the test then fails) and returns every handler call in order.
  std::vector<consumed_event> read_topic(std::size_t distinct, std::chrono::seconds timeout) {
    collector seen;
    auto consumer = consume(consumer_options({topic_}), seen.handler());
    if (!consumer)
      return {};
    EXPECT_TRUE(seen.wait_distinct(distinct, timeout))
        << "only " << first_occurrences(seen.calls()).size() << " of " << distinct << " arrived";
    consumer->stop();
    return seen.calls();
  }

  std::string brokers_, category_, topic_;
  std::shared_ptr<event_publisher> publisher_;
};

} // namespace aetherium::testing
