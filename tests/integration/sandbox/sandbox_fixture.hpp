#pragma once

#include <gtest/gtest.h>

#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::sandbox_testing {

/// A runtime, and whether its sandboxes come from a warm pool.
struct sandbox_variant {
  sandbox_runtime_kind kind = sandbox_runtime_kind::crun;
  bool warm_pool = false;
};

/// One adapter per test, for the runtime named by the test parameter. A host without the
/// runtime, root or the test image FAILS the test with the reason; nothing is skipped.
/// With a warm pool, every sandbox the test provisions must have come from the pool.
class sandbox_fixture : public ::testing::TestWithParam<sandbox_variant> {
protected:
  void SetUp() override {
    auto env = sandbox_env::make(GetParam().kind, {}, GetParam().warm_pool);
    ASSERT_TRUE(env.ok()) << "cannot run sandbox tests: " << env.err().detail;
    env_ = std::move(*env);
  }
  void TearDown() override {
    if (env_ && GetParam().warm_pool) {
      EXPECT_EQ(env_->cold_provisions(), 0) << "provisions the warm pool did not serve";
    }
    env_.reset();
  }

  sandbox_runtime& rt() { return env_->runtime(); }
  bool is_runsc() const { return GetParam().kind == sandbox_runtime_kind::runsc; }

  std::unique_ptr<sandbox_env> env_;
};

inline std::string runtime_param_name(const ::testing::TestParamInfo<sandbox_variant>& info) {
  return std::string(to_string(info.param.kind)) + (info.param.warm_pool ? "_warm_pool" : "");
}

#define AETHERIUM_ALL_RUNTIMES                                                          \
  ::testing::Values(::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::crun},  \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::runc},  \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::runsc})

/// The runtimes, and crun and runc again with a warm pool.
#define AETHERIUM_ALL_RUNTIMES_AND_POOLS                                                \
  ::testing::Values(::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::crun},  \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::runc},  \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::runsc}, \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::crun, true}, \
                    ::aetherium::sandbox_testing::sandbox_variant{::aetherium::sandbox_runtime_kind::runc, true})

} // namespace aetherium::sandbox_testing
