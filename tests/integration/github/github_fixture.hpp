#pragma once

#include <gtest/gtest.h>

#include "adapters/github/github_adapters.hpp"
#include "tests/support/github_stub/github_stub.hpp"

namespace aetherium::testing {

/// A fresh GitHub stub with one seeded repository, and a spec/change set for it.
class github_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(stub_.running()) << stub_.error();
    base_ = stub_.seed_repo("acme/widgets", {{"README.md", "hello\n"}, {"old.txt", "bye\n"}});
    ASSERT_FALSE(base_.empty());
    spec_ = {"acme/widgets", "main", "aetherium/task-42", "Task 42", "body <!-- aetherium:task=42 -->", "Task 42"};
    changes_.base_commit = base_;
    changes_.files = {{"README.md", file_change::kind::modified, "hello, world\n", false},
                      {"logo.bin", file_change::kind::added, std::string("\0\x01\xff", 3), false},
                      {"old.txt", file_change::kind::deleted, "", false}};
  }
  void TearDown() override {
    if (!stub_.running())
      return;
    for (auto& p : stub_.problems())
      ADD_FAILURE() << "protocol problem: " << p;
  }

  /// Options pointing at the stub with quick backoff; tests adjust them.
  github_options options() const {
    github_options o;
    o.token = "test-token";
    o.api_base = stub_.base_url();
    o.max_attempts = 3;
    o.initial_backoff = std::chrono::milliseconds{20};
    o.max_backoff = std::chrono::milliseconds{100};
    o.max_rate_limit_wait = std::chrono::milliseconds{0};
    return o;
  }

  github_stub stub_;
  std::string base_;
  pull_request_spec spec_;
  change_set changes_;
};

} // namespace aetherium::testing
