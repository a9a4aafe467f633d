#include "tests/contract/event_publisher/backend.hpp"

namespace aetherium::testing {

namespace {

struct memory_backend : publisher_backend {
  std::shared_ptr<event_publisher> publisher() override { return publisher_; }
  std::vector<event_message> read(const std::string& topic, std::size_t,
                                  std::chrono::milliseconds) override {
    return publisher_->messages(topic);
  }
  std::shared_ptr<memory_event_publisher> publisher_ = make_memory_event_publisher();
};

} // namespace

std::unique_ptr<publisher_backend> make_publisher_backend() {
  return std::make_unique<memory_backend>();
}

} // namespace aetherium::testing
