#include "tests/contract/blob_store/backend.hpp"

namespace aetherium::testing {

namespace {

struct memory_backend : backend {
  std::shared_ptr<blob_store> store() override { return store_; }
  std::shared_ptr<blob_store> store_ = make_memory_blob_store();
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<memory_backend>();
}

} // namespace aetherium::testing
