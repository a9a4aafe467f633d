#include "tests/contract/api_key_store/backend.hpp"

namespace aetherium::testing {

namespace {

struct memory_backend : backend {
  std::shared_ptr<api::api_key_store> open() override { return keys_; }
  std::shared_ptr<api::api_key_store> keys_ = api::make_memory_api_key_store();
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<memory_backend>();
}

} // namespace aetherium::testing
