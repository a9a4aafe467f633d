// The Kafka event consumer against a real broker: dedupe, retries, dead letters, commits
// after success, and partitions moving between group members.
#include <atomic>
#include <sstream>

#include "tests/integration/kafka/kafka_fixture.hpp"

using namespace aetherium;
using namespace aetherium::testing;

namespace {

using kafka_consumer = kafka_test;

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    n += !line.empty();
  return n;
}

TEST_F(kafka_consumer, rejects_incomplete_options) {
  auto accept = [](const consumed_event&) { return result<void>{}; };
  auto no_group = consumer_options({topic_}, "x");
  no_group.group_id.clear();
  auto res = make_kafka_event_consumer(brokers_, no_group, accept);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().code, errc::invalid_argument);
  res = make_kafka_event_consumer(brokers_, consumer_options({}), accept);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().field, "topics");
}

TEST_F(kafka_consumer, duplicates_on_the_topic_reach_the_handler_once) {
  auto events = make_events(category_, 2, 10);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));
  ASSERT_NO_FATAL_FAILURE(publish_all({events[2], events[3], events[7]})); // a relay replay

  auto on_topic = kcat_read(brokers_, topic_, "%k\\n");
  ASSERT_EQ(on_topic.exit_code, 0) << on_topic.output;
  EXPECT_EQ(count_lines(on_topic.output), 13u) << "the copies are really on the topic";

  collector seen;
  auto consumer = consume(consumer_options({topic_}), seen.handler());
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(seen.wait_distinct(10, 60s));
  EXPECT_TRUE(eventually([&] { return consumer->stats().duplicates == 3; }, 30s))
      << "duplicates skipped: " << consumer->stats().duplicates;
  consumer->stop();
  EXPECT_EQ(seen.calls().size(), 10u);
  EXPECT_EQ(consumer->stats().handled, 10u);
}

TEST_F(kafka_consumer, a_transient_failure_is_retried_until_it_succeeds) {
  auto events = make_events(category_, 1, 3);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));
  const std::string flaky = events[1].id.str();
  collector seen;
  auto consumer = consume(consumer_options({topic_}), seen.handler([&](const consumed_event& c) {
    if (c.event.id.str() == flaky && c.attempt < 3)
      return result<void>{make_error(errc::unavailable, "downstream busy")};
    return result<void>{};
  }));
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(seen.wait_distinct(3, 60s));
  consumer->stop();
  auto calls = seen.calls();
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[1].attempt, 1);
  EXPECT_EQ(calls[3].attempt, 3);
  EXPECT_EQ(calls[3].event.id.str(), flaky);
  EXPECT_EQ(calls[4].event.id, events[2].id) << "the next event waits for the retried one";
  EXPECT_EQ(consumer->stats().retries, 2u);
  EXPECT_EQ(consumer->stats().dead_lettered, 0u);
}

TEST_F(kafka_consumer, an_event_failing_every_attempt_is_dead_lettered_and_the_rest_go_on) {
  auto events = make_events(category_, 1, 6);
  events[2].type = "test.poison";
  rehash(events);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));
  auto options = consumer_options({topic_});
  options.max_attempts = 3;
  collector seen;
  auto consumer = consume(options, seen.handler([](const consumed_event& c) {
    if (c.event.type == "test.poison")
      return result<void>{make_error(errc::unavailable, "downstream refused it")};
    return result<void>{};
  }));
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(seen.wait_distinct(5, 60s));
  ASSERT_TRUE(eventually([&] { return consumer->stats().dead_lettered == 1; }, 30s));
  consumer->stop();
  auto calls = seen.calls();
  ASSERT_EQ(calls.size(), 8u) << "5 good events and 3 attempts of the poisoned one";
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(calls[i].event.type, "test.poison");
    EXPECT_EQ(calls[i].attempt, i - 1);
  }
  EXPECT_EQ(calls[5].event.id, events[3].id);

  auto letters = kcat_read(brokers_, "aetherium-dlq." + options.group_id, "%k|%h|%s\\n");
  ASSERT_EQ(letters.exit_code, 0) << letters.output;
  ASSERT_EQ(count_lines(letters.output), 1u) << letters.output;
  auto& text = letters.output;
  EXPECT_EQ(text.rfind(events[2].stream.str() + "|", 0), 0u) << text;
  for (std::string header : {"event_id=" + events[2].id.str(), std::string{"dlq_error=unavailable"},
                             std::string{"dlq_detail=downstream refused it"},
                             std::string{"dlq_attempts=3"}, "dlq_topic=" + topic_,
                             std::string{"dlq_offset=2"}, "dlq_group=" + options.group_id})
    EXPECT_NE(text.find(header), std::string::npos) << header << " missing in " << text;
  EXPECT_NE(text.find("|" + event_envelope_json(events[2])), std::string::npos) << text;
}

TEST_F(kafka_consumer, a_message_that_is_not_an_event_is_dead_lettered_as_corrupt) {
  auto events = make_events(category_, 1, 2);
  ASSERT_NO_FATAL_FAILURE(publish_all({events[0]}));
  auto raw = run_command("printf '" + events[0].stream.str() + ":not an event\\n' | kcat -P -b " +
                         brokers_ + " -t " + topic_ + " -K:");
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  ASSERT_NO_FATAL_FAILURE(publish_all({events[1]}));

  auto options = consumer_options({topic_});
  collector seen;
  auto consumer = consume(options, seen.handler());
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(seen.wait_distinct(2, 60s));
  ASSERT_TRUE(eventually([&] { return consumer->stats().dead_lettered == 1; }, 30s));
  consumer->stop();
  EXPECT_EQ(seen.calls().size(), 2u) << "the handler never sees the bad message";
  auto letters = kcat_read(brokers_, "aetherium-dlq." + options.group_id, "%h|%s\\n");
  ASSERT_EQ(letters.exit_code, 0) << letters.output;
  EXPECT_NE(letters.output.find("dlq_error=corrupt"), std::string::npos) << letters.output;
  EXPECT_NE(letters.output.find("|not an event"), std::string::npos) << letters.output;
}

TEST_F(kafka_consumer, offsets_are_committed_only_after_the_handler_succeeds) {
  auto events = make_events(category_, 1, 8);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));
  auto options = consumer_options({topic_});
  options.max_attempts = 1'000'000;
  const std::string stuck = events[4].id.str();
  collector first;
  auto consumer = consume(options, first.handler([&](const consumed_event& c) {
    if (c.event.id.str() == stuck)
      return result<void>{make_error(errc::unavailable, "downstream down")};
    return result<void>{};
  }));
  ASSERT_TRUE(consumer);
  ASSERT_TRUE(first.wait_until(
      [&](const std::vector<consumed_event>& calls) {
        return !calls.empty() && calls.back().event.id.str() == stuck && calls.back().attempt >= 3;
      },
      60s));
  consumer->stop(); // abandons the stuck event: it stays uncommitted

  collector second;
  auto successor = consume(options, second.handler());
  ASSERT_TRUE(successor);
  ASSERT_TRUE(second.wait_distinct(4, 60s));
  successor->stop();
  auto calls = second.calls();
  ASSERT_EQ(calls.size(), 4u) << "events 0-3 were committed and are not read again";
  EXPECT_EQ(calls[0].event.id.str(), stuck);
  EXPECT_EQ(calls[0].offset, 4);
  EXPECT_EQ(calls[3].event.id, events[7].id);
}

TEST_F(kafka_consumer, members_joining_and_leaving_the_group_lose_no_event) {
  auto events = make_events(category_, 40, 3'000);
  ASSERT_NO_FATAL_FAILURE(publish_all(events));
  auto options = consumer_options({topic_});
  // Members notice a rebalance at their next heartbeat: make that quick.
  options.extra_config = {{"heartbeat.interval.ms", "200"}, {"session.timeout.ms", "6000"}};
  collector seen;
  std::atomic<int> by_first{0}, by_second{0};
  auto working = [&seen](std::atomic<int>& count) {
    return seen.handler([&count](const consumed_event&) {
      ++count;
      std::this_thread::sleep_for(std::chrono::milliseconds{2}); // simulated work
      return result<void>{};
    });
  };
  auto first = consume(options, working(by_first));
  ASSERT_TRUE(first);
  ASSERT_TRUE(seen.wait_distinct(200, 60s));
  auto second = consume(options, working(by_second));
  ASSERT_TRUE(second);
  ASSERT_TRUE(eventually([&] { return by_second.load() > 0; }, 60s)) << "no rebalance happened";
  ASSERT_LT(seen.calls().size(), events.size()) << "the first member had finished already";
  first->stop(); // leaves the group: its partitions move to the second member
  ASSERT_TRUE(seen.wait_distinct(events.size(), 120s));
  second->stop();
  EXPECT_GT(by_first.load(), 0);
  EXPECT_GT(by_second.load(), 0);
  expect_complete_and_ordered(first_occurrences(seen.calls()), events);
}

} // namespace
