#include <gtest/gtest.h>

#include "tests/contract/sandbox_runtime/backend.hpp"
#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::testing {
namespace {

/// The OCI adapter with crun (the default runtime) over a private state directory.
struct oci_backend : backend {
  oci_backend() {
    auto made = sandbox_testing::sandbox_env::make(sandbox_runtime_kind::crun);
    if (!made) {
      ADD_FAILURE() << "cannot run the OCI adapter here: " << made.err().detail;
      return;
    }
    env_ = std::move(*made);
  }
  sandbox_runtime& runtime() override { return env_->runtime(); }
  sandbox_spec spec() override { return env_->spec(); }
  std::unique_ptr<sandbox_testing::sandbox_env> env_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  auto b = std::make_unique<oci_backend>();
  return b->env_ ? std::move(b) : nullptr;
}

} // namespace aetherium::testing
