// The broker is stopped and restarted (same ports, same data) while events are published:
// every event must reach the topic, in per-stream order.
#include <atomic>
#include <iostream>
#include <thread>

#include "tests/integration/kafka/kafka_fixture.hpp"

using namespace aetherium;
using namespace aetherium::testing;

namespace {

using kafka_broker_restart = kafka_test;

TEST_F(kafka_broker_restart, restarting_the_broker_while_publishing_loses_nothing) {
  std::string dir;
  ASSERT_NO_FATAL_FAILURE(require_env("AETHERIUM_TEST_KAFKA_DIR", dir));
  auto events = make_events(category_, 20, 10'000);
  delivery_tally tally;
  std::size_t next = 0;
  for (; next < 2'000; ++next)
    publisher_->publish(events[next], tally.callback());
  ASSERT_TRUE(tally.wait_for(1'000, 60s)) << "the broker took nothing before the restart";

  std::atomic<bool> restarted{false};
  command_output restart;
  std::thread restarter{[&] {
    restart = run_command("bash -c 'source " AETHERIUM_SOURCE_DIR "/deploy/lib/kafka.sh && "
                          "kafka_restart " + dir + "'");
    restarted = true;
  }};
  // While the broker goes down and comes back, keep publishing (at most up to 8,000)...
  std::size_t published_before_restart = next;
  while (!restarted && next < 8'000) {
    for (std::size_t end = next + 50; next < end; ++next)
      publisher_->publish(events[next], tally.callback());
    std::this_thread::sleep_for(50ms); // spreads publishing over the outage
  }
  restarter.join();
  ASSERT_EQ(restart.exit_code, 0) << restart.output;
  EXPECT_GT(next, published_before_restart) << "nothing was published during the restart";
  std::cout << "published during the restart: " << next - published_before_restart
            << ", awaiting delivery when it ended: " << next - tally.ok() << "\n";
  // ...and publish the rest once it is back.
  for (; next < events.size(); ++next)
    publisher_->publish(events[next], tally.callback());

  auto flushed = publisher_->flush(180s);
  ASSERT_TRUE(flushed.ok()) << flushed.err().detail;
  auto errors = tally.errors();
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front().detail;
  EXPECT_EQ(tally.ok(), events.size());

  expect_complete_and_ordered(first_occurrences(read_topic(events.size(), 180s)), events);
}

} // namespace
