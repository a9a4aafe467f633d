// `aetherium relay` is killed with SIGKILL at random moments while 10,000 events are
// appended to the log; after a last restart every event is on Kafka, in per-stream order.
// Duplicates are allowed (the relay resumes from its last saved checkpoint), losses not.
#include <atomic>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/integration/kafka/kafka_fixture.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;

namespace {

/// One `aetherium relay` process over the test database and broker.
class relay_process {
public:
  relay_process(std::string url, std::string brokers, std::string log)
    : url_(std::move(url)), brokers_(std::move(brokers)), log_(std::move(log)) {}
  ~relay_process() { kill(); }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("AETHERIUM_DATABASE_URL", url_.c_str(), 1);
      ::setenv("AETHERIUM_KAFKA_BROKERS", brokers_.c_str(), 1);
      ::execl("/bin/sh", "sh", "-c", ("exec " AETHERIUM_BINARY " relay >>'" + log_ + "' 2>&1").c_str(), nullptr);
      ::_exit(127);
    }
  }
  /// SIGKILL; returns false when the process had already exited (it crashed by itself).
  bool kill() {
    if (pid_ <= 0)
      return true;
    bool alive = ::waitpid(pid_, nullptr, WNOHANG) == 0;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return alive;
  }

private:
  std::string url_, brokers_, log_;
  pid_t pid_ = -1;
};

using relay_kill = kafka_test;

TEST_F(relay_kill, killing_the_relay_at_random_moments_while_appending_loses_no_event) {
  pg_test_database db;
  auto store = make_postgres_event_store(db.url());
  ASSERT_TRUE(store.ok()) << store.err().detail;
  auto ids = make_random_id_generator();
  constexpr int streams = 20, batches = 1'000, per_batch = 10;

  std::atomic<bool> appended{false};
  std::atomic<int> failures{0};
  std::thread appender{[&] {
    for (int b = 0; b < batches; ++b) {
      append_request r{stream_id{category_ + "-" + std::to_string(b % streams)}, expected_version::any(), {}};
      for (int i = 0; i < per_batch; ++i)
        r.events.push_back({event_id{ids->next_uuid()}, "test.happened", 1,
                            "{\"batch\": " + std::to_string(b) + ", \"i\": " + std::to_string(i) + "}",
                            {"acme", "relay-test"}});
      if (!(*store)->append(std::move(r)).ok())
        ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(5)); // spreads the appends over the kills
    }
    appended = true;
  }};

  auto log = "/tmp/relay-kill-" + category_ + ".log";
  relay_process relay{db.url(), brokers_, log};
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> uptime_ms{200, 1200};
  int kills = 0;
  while (!appended) {
    relay.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(uptime_ms(rng)));
    EXPECT_TRUE(relay.kill()) << "the relay exited before it was killed:\n" << run_command("tail -n 20 " + log).output;
    ++kills;
  }
  appender.join();
  ASSERT_EQ(failures, 0) << "appends failed";
  EXPECT_GE(kills, 3) << "too few kills to mean anything";
  relay.start();

  std::vector<recorded_event> published;
  for (std::int64_t after = 0;;) {
    auto page = (*store)->read_all(after, 5'000);
    ASSERT_TRUE(page.ok()) << page.err().detail;
    if (page->empty())
      break;
    for (auto& e : *page)
      if (e.stream.str().rfind(category_ + "-", 0) == 0)
        published.push_back(e);
    after = page->back().position;
  }
  ASSERT_EQ(published.size(), static_cast<std::size_t>(batches * per_batch));
  auto seen = read_topic(published.size(), std::chrono::seconds(180));
  std::cout << "relay killed " << kills << " times; " << seen.size() << " messages for " << published.size()
            << " events (" << seen.size() - std::min(seen.size(), published.size()) << " duplicates)\n";
  expect_complete_and_ordered(first_occurrences(seen), published);
  EXPECT_TRUE(relay.kill()) << "the relay did not keep running:\n" << run_command("tail -n 20 " + log).output;
  ::unlink(log.c_str());
}

} // namespace
