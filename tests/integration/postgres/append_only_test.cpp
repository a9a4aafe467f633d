#include <pqxx/pqxx>

#include "events/log_verifier.hpp"
#include "tests/integration/postgres/store_fixture.hpp"

using namespace aetherium;

namespace {

class append_only : public aetherium::testing::store_fixture {
protected:
  /// Runs SQL as superuser and returns the error text, or "" when it succeeded.
  std::string try_sql(const std::string& sql) {
    try {
      db_.exec_as_superuser(sql);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  }
};

TEST_F(append_only, the_database_refuses_update_delete_and_truncate_even_for_a_superuser) {
  ASSERT_TRUE(store_->append(request("task-1", 3)).ok());
  EXPECT_NE(try_sql("UPDATE events SET type = 'x' WHERE position = 2").find("append-only"), std::string::npos);
  EXPECT_NE(try_sql("DELETE FROM events WHERE position = 3").find("append-only"), std::string::npos);
  EXPECT_NE(try_sql("TRUNCATE events").find("append-only"), std::string::npos);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM events"), "3");
}

TEST_F(append_only, an_insert_that_does_not_follow_the_head_or_the_chain_is_refused) {
  ASSERT_TRUE(store_->append(request("task-1", 2)).ok());
  auto hash = db_.query_value("SELECT hash FROM events WHERE position = 2");
  auto insert = [&](int position, const std::string& prev) {
    return try_sql("INSERT INTO events VALUES (" + std::to_string(position)
                   + ", gen_random_uuid(), 'task-9', 1, 't', 1, '{}', '{}', now(), '" + prev + "', 'h')");
  };
  EXPECT_NE(insert(5, hash).find("do not follow the head"), std::string::npos);
  EXPECT_NE(insert(3, "wrong").find("does not link"), std::string::npos);
  EXPECT_EQ(db_.query_value("SELECT last_position FROM event_log_head"), "2");
}

TEST_F(append_only, verification_finds_the_first_tampered_position) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->append(request("task-" + std::to_string(i), 4)).ok());
  auto before = verify_log(*store_);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->intact);
  EXPECT_EQ(before->events_checked, 20);
  // An attacker with superuser rights can switch the guard off; the chain still tells.
  db_.exec_as_superuser("ALTER TABLE events DISABLE TRIGGER events_no_update;"
                        "UPDATE events SET payload = '{\"i\": 99}' WHERE position = 13;"
                        "ALTER TABLE events ENABLE TRIGGER events_no_update;");
  auto after = verify_log(*store_, 7);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->intact);
  EXPECT_EQ(after->first_bad_position, 13);
  EXPECT_EQ(after->events_checked, 12);
  EXPECT_NE(after->reason.find("hash"), std::string::npos);
}

} // namespace
