#include "tests/contract/event_store/backend.hpp"

namespace aetherium::testing {

namespace {

struct memory_backend : backend {
  memory_backend() : store_(make_memory_event_store(clock)), checkpoints_(make_memory_checkpoint_store()) {}
  std::shared_ptr<event_store> store() override { return store_; }
  std::shared_ptr<checkpoint_store> checkpoints() override { return checkpoints_; }
  std::shared_ptr<event_store> store_;
  std::shared_ptr<checkpoint_store> checkpoints_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<memory_backend>();
}

} // namespace aetherium::testing
