// The Kafka event publisher against a real broker: routing, headers, per-stream order.
#include <sstream>

#include "tests/integration/kafka/kafka_fixture.hpp"

using namespace aetherium;
using namespace aetherium::testing;

namespace {

using kafka_publish = kafka_test;

std::string expected_headers(const recorded_event& e) {
  return "event_id=" + e.id.str() + ",event_type=" + e.type +
         ",schema_version=" + std::to_string(e.schema_version) +
         ",position=" + std::to_string(e.position);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

TEST_F(kafka_publish, events_land_on_their_topic_with_key_and_headers_for_our_consumer) {
  auto events = make_events(category_, 3, 30);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));

  collector seen;
  auto consumer = consume(consumer_options({topic_}), seen.handler());
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(seen.wait_distinct(events.size(), 60s));
  consumer->stop();

  std::map<std::string, recorded_event> by_id;
  for (auto& e : events)
    by_id[e.id.str()] = e;
  auto calls = seen.calls();
  ASSERT_EQ(calls.size(), events.size());
  for (auto& call : calls) {
    ASSERT_TRUE(by_id.count(call.event.id.str()));
    const recorded_event& sent = by_id[call.event.id.str()];
    EXPECT_EQ(call.message.topic, topic_);
    EXPECT_EQ(call.message.key, sent.stream.str());
    EXPECT_EQ(*call.message.header(event_header::event_id), sent.id.str());
    EXPECT_EQ(*call.message.header(event_header::type), sent.type);
    EXPECT_EQ(*call.message.header(event_header::schema_version), "1");
    EXPECT_EQ(*call.message.header(event_header::position), std::to_string(sent.position));
    EXPECT_EQ(call.event.stream, sent.stream);
    EXPECT_EQ(call.event.stream_version, sent.stream_version);
    EXPECT_EQ(call.event.payload, sent.payload) << "the payload keeps its text (1.50 stays 1.50)";
    EXPECT_EQ(call.event.metadata.correlation_id, sent.metadata.correlation_id);
    EXPECT_EQ(call.event.hash, sent.hash);
    EXPECT_EQ(call.attempt, 1);
  }
}

TEST_F(kafka_publish, kcat_reads_the_topic_with_key_headers_and_envelope) {
  auto events = make_events(category_, 3, 30);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));

  auto out = kcat_read(brokers_, topic_, "%t|%k|%h|%s\\n");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto lines = lines_of(out.output);
  ASSERT_EQ(lines.size(), events.size()) << out.output;
  std::set<std::string> expected;
  for (auto& e : events)
    expected.insert(topic_ + "|" + e.stream.str() + "|" + expected_headers(e) + "|" +
                    event_envelope_json(e));
  for (auto& line : lines)
    EXPECT_TRUE(expected.count(line)) << "unexpected kcat line: " << line;
}

TEST_F(kafka_publish, ten_thousand_events_keep_per_stream_order) {
  auto events = make_events(category_, 50, 10'000);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));

  auto calls = read_topic(events.size(), 120s);
  EXPECT_EQ(calls.size(), events.size()) << "the idempotent producer wrote no duplicates";
  expect_complete_and_ordered(first_occurrences(calls), events);

  // kcat prints each partition in offset order: per key, positions must rise.
  auto out = kcat_read(brokers_, topic_, "%k %h\\n");
  ASSERT_EQ(out.exit_code, 0) << out.output.substr(0, 2000);
  auto lines = lines_of(out.output);
  EXPECT_EQ(lines.size(), events.size());
  std::map<std::string, long long> last;
  for (auto& line : lines) {
    auto key = line.substr(0, line.find(' '));
    auto position = std::stoll(line.substr(line.rfind("position=") + 9));
    EXPECT_GT(position, last[key]) << key;
    last[key] = position;
  }
}

} // namespace
