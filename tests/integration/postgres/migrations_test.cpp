#include <gtest/gtest.h>

#include "adapters/postgres/migrations.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;

namespace {

TEST(migrations, status_down_and_up_round_trip) {
  aetherium::testing::pg_test_database db; // created migrated
  auto status = postgres::migrate_status(db.url());
  ASSERT_TRUE(status.ok()) << status.err().detail;
  ASSERT_GE(status->size(), 2u);
  EXPECT_EQ((*status)[1].version, 2);
  EXPECT_EQ((*status)[1].name, "blobs");
  for (auto& m : *status)
    EXPECT_TRUE(m.applied) << m.name;
  EXPECT_EQ(*postgres::migrate_up(db.url()), 0) << "up on a migrated database applies nothing";

  auto down = postgres::migrate_down(db.url(), 100);
  ASSERT_TRUE(down.ok()) << down.err().detail;
  EXPECT_EQ(*down, static_cast<int>(status->size()));
  EXPECT_EQ(db.query_value("SELECT to_regclass('events')::text"), "");
  EXPECT_EQ(db.query_value("SELECT to_regclass('blobs')::text"), "");
  auto reverted = postgres::migrate_status(db.url());
  ASSERT_TRUE(reverted.ok());
  for (auto& m : *reverted)
    EXPECT_FALSE(m.applied);

  EXPECT_EQ(*postgres::migrate_up(db.url()), static_cast<int>(status->size()));
  EXPECT_EQ(db.query_value("SELECT to_regclass('events')::text"), "events");
  EXPECT_EQ(db.query_value("SELECT to_regclass('blobs')::text"), "blobs");
}

TEST(migrations, an_unreachable_database_is_unavailable) {
  auto res = postgres::migrate_status("host=127.0.0.1 port=1 connect_timeout=2 user=postgres");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().code, errc::unavailable);
}

} // namespace
