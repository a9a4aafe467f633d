#include "adapters/json/event_log_api_key_store.hpp"
#include "tests/contract/api_key_store/backend.hpp"

namespace aetherium::testing {

namespace {

struct event_log_memory_backend : backend {
  std::shared_ptr<api::api_key_store> open() override {
    return make_event_log_api_key_store(log_, make_system_clock(), make_random_id_generator());
  }
  std::shared_ptr<event_store> log_ = make_memory_event_store(make_system_clock());
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<event_log_memory_backend>();
}

} // namespace aetherium::testing
