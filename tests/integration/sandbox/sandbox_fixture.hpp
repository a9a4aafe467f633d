#pragma once

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::sandbox_testing {

/// One adapter per test, for the runtime named by the test parameter. A host without the
/// runtime, root or the test image FAILS the test with the reason; nothing is skipped.
class sandbox_fixture : public ::testing::TestWithParam<sandbox_runtime_kind> {
protected:
  void SetUp() override {
    auto env = sandbox_env::make(GetParam());
    ASSERT_TRUE(env.ok()) << "cannot run sandbox tests: " << env.err().detail;
    env_ = std::move(*env);
  }
  void TearDown() override { env_.reset(); }

  sandbox_runtime& rt() { return env_->runtime(); }
  bool is_runsc() const { return GetParam() == sandbox_runtime_kind::runsc; }

  std::unique_ptr<sandbox_env> env_;
};

inline std::string runtime_param_name(const ::testing::TestParamInfo<sandbox_runtime_kind>& info) {
  return to_string(info.param);
}

#define AETHERIUM_ALL_RUNTIMES                                                          \
  ::testing::Values(::aetherium::sandbox_runtime_kind::crun,                            \
                    ::aetherium::sandbox_runtime_kind::runc,                            \
                    ::aetherium::sandbox_runtime_kind::runsc)

} // namespace aetherium::sandbox_testing
