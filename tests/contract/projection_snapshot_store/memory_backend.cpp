#include "tests/contract/projection_snapshot_store/backend.hpp"

namespace aetherium::testing {

namespace {

struct memory_backend : backend {
  std::shared_ptr<projection_snapshot_store> store() override { return store_; }
  std::shared_ptr<projection_snapshot_store> reopened() override { return store_; }
  std::shared_ptr<projection_snapshot_store> store_ = make_memory_projection_snapshot_store();
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<memory_backend>();
}

} // namespace aetherium::testing
