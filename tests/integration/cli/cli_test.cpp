#include <gtest/gtest.h>

#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/support/pg_test_database.hpp"
#include "tests/support/run_command.hpp"

using namespace aetherium;
using aetherium::testing::run_command;

namespace {

std::string aetherium_cmd(const std::string& url, const std::string& args) {
  return "AETHERIUM_DATABASE_URL='" + url + "' " AETHERIUM_BINARY " " + args;
}

TEST(cli, migrate_reports_status_and_applies_pending_migrations) {
  aetherium::testing::pg_test_database db;
  auto known = postgres::migrate_status(db.url());
  ASSERT_TRUE(known.ok()) << known.err().detail;
  ASSERT_TRUE(postgres::migrate_down(db.url(), 100).ok());
  auto status = run_command(aetherium_cmd(db.url(), "migrate status"));
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("pending"), std::string::npos) << status.output;
  auto up = run_command(aetherium_cmd(db.url(), "migrate up"));
  EXPECT_EQ(up.exit_code, 0) << up.output;
  auto applied = "applied " + std::to_string(known->size()) + " migration";
  EXPECT_NE(up.output.find(applied), std::string::npos) << up.output;
  auto again = run_command(aetherium_cmd(db.url(), "migrate status"));
  EXPECT_EQ(again.output.find("pending"), std::string::npos) << again.output;
}

TEST(cli, events_verify_passes_an_intact_log_and_names_the_tampered_position) {
  aetherium::testing::pg_test_database db;
  auto store = make_postgres_event_store(db.url());
  ASSERT_TRUE(store.ok());
  auto ids = make_random_id_generator();
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE((*store)->append({stream_id{"task-1"}, expected_version::any(),
                                  {{event_id{ids->next_uuid()}, "test.happened", 1, "{}", {}}}}).ok());
  auto ok = run_command(aetherium_cmd(db.url(), "events verify"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("intact: 6 events"), std::string::npos) << ok.output;

  db.exec_as_superuser("ALTER TABLE events DISABLE TRIGGER events_no_update;"
                       "UPDATE events SET type = 'forged' WHERE position = 4;"
                       "ALTER TABLE events ENABLE TRIGGER events_no_update;");
  auto broken = run_command(aetherium_cmd(db.url(), "events verify"));
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("BROKEN at position 4"), std::string::npos) << broken.output;
}

TEST(cli, usage_errors_exit_2_and_unreachable_databases_exit_1) {
  EXPECT_EQ(run_command(AETHERIUM_BINARY " frobnicate").exit_code, 2);
  EXPECT_EQ(run_command(AETHERIUM_BINARY " migrate sideways --database-url x").exit_code, 2);
  EXPECT_EQ(run_command("env -u AETHERIUM_DATABASE_URL " AETHERIUM_BINARY " migrate up").exit_code, 2);
  auto down = run_command(aetherium_cmd("host=127.0.0.1 port=1 connect_timeout=2", "events verify"));
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_NE(down.output.find("unavailable"), std::string::npos) << down.output;
}

} // namespace
