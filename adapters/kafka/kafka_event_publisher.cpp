#include "adapters/kafka/kafka_event_publisher.hpp"

#include <mutex>
#include <optional>

#include "adapters/kafka/kafka_producer.hpp"

namespace aetherium {

namespace {

class kafka_event_publisher final : public event_publisher {
public:
  explicit kafka_event_publisher(std::unique_ptr<kafka::producer> producer)
      : producer_(std::move(producer)) {}

  // event_publisher

  void publish(const recorded_event& event, delivery_callback done) override {
    auto message = to_event_message(event);
    if (!message) {
      done(message.err());
      return;
    }
    if (auto halt = halted()) {
      done(make_error(halt->code, "publisher halted after a failed delivery: " + halt->detail));
      return;
    }
    // The producer runs every callback before it is destroyed, and it dies with this
    // object, so `this` outlives the callback.
    producer_->produce(*message, [this, done = std::move(done)](result<void> res) {
      if (!res)
        halt_with(res.err());
      done(std::move(res));
    });
  }

  result<void> flush(std::chrono::milliseconds timeout) override {
    return producer_->flush(timeout);
  }

private:
  std::optional<error> halted() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return halted_;
  }

  void halt_with(const error& err) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!halted_)
      halted_ = err;
  }

  mutable std::mutex mtx_;
  std::optional<error> halted_;
  std::unique_ptr<kafka::producer> producer_; ///< Last member: destroyed (and drained) first.
};

} // namespace

result<std::shared_ptr<event_publisher>>
make_kafka_event_publisher(const std::string& brokers, kafka_event_publisher_options options) {
  kafka::producer_settings settings;
  settings.brokers = brokers;
  settings.client_id = options.client_id;
  settings.delivery_timeout = options.delivery_timeout;
  settings.enqueue_timeout = options.enqueue_timeout;
  settings.linger = options.linger;
  settings.close_timeout = options.close_timeout;
  settings.extra = std::move(options.extra_config);
  auto producer = kafka::producer::create(std::move(settings));
  if (!producer)
    return producer.err();
  return std::shared_ptr<event_publisher>{
      std::make_shared<kafka_event_publisher>(std::move(*producer))};
}

} // namespace aetherium
