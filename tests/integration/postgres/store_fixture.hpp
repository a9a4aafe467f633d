#pragma once

#include <gtest/gtest.h>

#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {

/// A fresh database with the PostgreSQL event store opened on it.
class store_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    auto s = make_postgres_event_store(db_.url());
    ASSERT_TRUE(s.ok()) << s.err().detail;
    store_ = *s;
  }

  append_request request(const std::string& stream, std::size_t n = 1) {
    append_request r{stream_id{stream}, expected_version::any(), {}};
    for (std::size_t i = 0; i < n; ++i)
      r.events.push_back({event_id{ids_->next_uuid()}, "test.happened", 1,
                          R"({"i": )" + std::to_string(i) + "}", {}});
    return r;
  }

  pg_test_database db_;
  std::shared_ptr<event_store> store_;
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
};

} // namespace aetherium::testing
