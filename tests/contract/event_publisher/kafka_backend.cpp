#include <gtest/gtest.h>

#include "adapters/kafka/kafka_event_publisher.hpp"
#include "tests/contract/event_publisher/backend.hpp"
#include "tests/integration/kafka/kafka_fixture.hpp"

namespace aetherium::testing {

namespace {

struct kafka_backend : publisher_backend {
  explicit kafka_backend(std::string brokers, std::shared_ptr<event_publisher> publisher)
      : brokers_(std::move(brokers)), publisher_(std::move(publisher)) {}

  std::shared_ptr<event_publisher> publisher() override { return publisher_; }

  // Reads with the project's own consumer in a fresh group; kcat cross-checks it in
  // tests/integration/kafka.
  std::vector<event_message> read(const std::string& topic, std::size_t count,
                                  std::chrono::milliseconds timeout) override {
    collector seen;
    auto consumer = make_kafka_event_consumer(brokers_, consumer_options({topic}), seen.handler());
    EXPECT_TRUE(consumer.ok()) << consumer.err().detail;
    if (!consumer)
      return {};
    seen.wait_distinct(count, timeout);
    (*consumer)->stop();
    std::vector<event_message> out;
    for (auto& call : seen.calls())
      out.push_back(call.message);
    return out;
  }

  std::string brokers_;
  std::shared_ptr<event_publisher> publisher_;
};

void open(std::unique_ptr<publisher_backend>& out) {
  std::string brokers;
  ASSERT_NO_FATAL_FAILURE(require_env("AETHERIUM_TEST_KAFKA_BROKERS", brokers));
  auto publisher = make_kafka_event_publisher(brokers);
  ASSERT_TRUE(publisher.ok()) << publisher.err().detail;
  out = std::make_unique<kafka_backend>(brokers, *publisher);
}

} // namespace

std::unique_ptr<publisher_backend> make_publisher_backend() {
  std::unique_ptr<publisher_backend> backend;
  open(backend);
  return backend;
}

} // namespace aetherium::testing
