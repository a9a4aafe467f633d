#include "adapters/json/event_log_node_registry.hpp"
#include "tests/contract/node_registry/backend.hpp"

namespace aetherium::testing {

namespace {

struct event_log_memory_backend : backend {
  std::shared_ptr<node_registry> open(std::shared_ptr<clock> time) override {
    return make_event_log_node_registry(log_, std::move(time), make_random_id_generator());
  }
  std::shared_ptr<event_store> log() override { return log_; }
  std::shared_ptr<event_store> log_ = make_memory_event_store(make_system_clock());
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<event_log_memory_backend>();
}

} // namespace aetherium::testing
