#include <gtest/gtest.h>

#include "tests/contract/sandbox_runtime/backend.hpp"
#include "tests/integration/microvm/microvm_test_env.hpp"

namespace aetherium::testing {
namespace {

/// The microVM adapter (QEMU, clones of a template) over a private state directory.
struct microvm_backend : backend {
  microvm_backend() {
    auto made = microvm_testing::microvm_env::make();
    if (!made) {
      ADD_FAILURE() << "cannot run the microVM adapter here: " << made.err().detail;
      return;
    }
    env_ = std::move(*made);
  }
  sandbox_runtime& runtime() override { return env_->runtime(); }
  sandbox_spec spec() override { return env_->spec(); }
  std::unique_ptr<microvm_testing::microvm_env> env_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  auto b = std::make_unique<microvm_backend>();
  return b->env_ ? std::move(b) : nullptr;
}

} // namespace aetherium::testing
