// Cases only a database can show: what is on disk, tampering, several instances.
#include <gtest/gtest.h>

#include "adapters/postgres/postgres_blob_store.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;

namespace {

class postgres_blob_store_test : public ::testing::Test {
protected:
  std::shared_ptr<blob_store> open() {
    auto s = make_postgres_blob_store(db_.url());
    EXPECT_TRUE(s.ok()) << s.err().detail;
    return s.ok() ? *s : nullptr;
  }

  /// Runs SQL as superuser and returns the error text, or "" when it succeeded.
  std::string try_sql(const std::string& sql) {
    try {
      db_.exec_as_superuser(sql);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  aetherium::testing::pg_test_database db_;
};

TEST_F(postgres_blob_store_test, the_same_bytes_are_stored_in_one_row) {
  auto store = open();
  ASSERT_TRUE(store);
  auto ref = *store->put(std::string("a\0b", 3));
  ASSERT_EQ(*store->put(std::string("a\0b", 3)), ref);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM blobs"), "1");
  EXPECT_EQ(db_.query_value("SELECT size FROM blobs WHERE ref = '" + ref + "'"), "3");
}

TEST_F(postgres_blob_store_test, a_second_instance_reads_what_the_first_stored) {
  auto first = open();
  ASSERT_TRUE(first);
  auto ref = *first->put("written by the first instance\xff");
  auto second = open();
  ASSERT_TRUE(second);
  auto got = second->get(ref);
  ASSERT_TRUE(got.ok()) << got.err().detail;
  EXPECT_EQ(*got, "written by the first instance\xff");
  EXPECT_EQ(*second->put("written by the first instance\xff"), ref);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM blobs"), "1");
}

TEST_F(postgres_blob_store_test, the_database_refuses_to_update_a_stored_blob) {
  auto store = open();
  ASSERT_TRUE(store);
  auto ref = *store->put("hello");
  auto refused = try_sql("UPDATE blobs SET content = 'jello' WHERE ref = '" + ref + "'");
  EXPECT_NE(refused.find("immutable"), std::string::npos) << refused;
  EXPECT_EQ(*store->get(ref), "hello");
}

TEST_F(postgres_blob_store_test, a_row_tampered_with_as_superuser_is_reported_corrupt) {
  auto store = open();
  ASSERT_TRUE(store);
  auto ref = *store->put("hello world");
  // An attacker with superuser rights can switch the guard off; the hash still tells.
  db_.exec_as_superuser("ALTER TABLE blobs DISABLE TRIGGER blobs_no_update;"
                        "UPDATE blobs SET content = set_byte(content, 0, 74) WHERE ref = '" + ref
                        + "';"
                        "ALTER TABLE blobs ENABLE TRIGGER blobs_no_update;");
  ASSERT_EQ(db_.query_value("SELECT convert_from(content, 'UTF8') FROM blobs"), "Jello world");
  auto got = store->get(ref);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.err().code, errc::corrupt);
  EXPECT_NE(got.err().detail.find(ref), std::string::npos) << got.err().detail;
  // A put of the original bytes does not rewrite the row: it stays corrupt until restored.
  EXPECT_EQ(*store->put("hello world"), ref);
  EXPECT_EQ(store->get(ref).err().code, errc::corrupt);
}

TEST_F(postgres_blob_store_test, the_schema_refuses_a_malformed_ref_and_a_wrong_size) {
  auto refused = try_sql("INSERT INTO blobs (ref, size, content) VALUES ('sha256:ABC', 1, 'x')");
  EXPECT_NE(refused.find("check constraint"), std::string::npos) << refused;
  refused = try_sql("INSERT INTO blobs (ref, size, content) VALUES ('sha256:" + std::string(64, 'a')
                    + "', 2, 'x')");
  EXPECT_NE(refused.find("check constraint"), std::string::npos) << refused;
}

TEST_F(postgres_blob_store_test, a_dropped_connection_costs_at_most_one_unavailable_call) {
  auto store = open();
  ASSERT_TRUE(store);
  auto ref = *store->put("kept");
  db_.exec_as_superuser("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  auto first = store->get(ref);
  EXPECT_TRUE(first.ok() || first.err().code == errc::unavailable) << first.err().detail;
  auto second = store->get(ref);
  ASSERT_TRUE(second.ok()) << second.err().detail;
  EXPECT_EQ(*second, "kept");
}

TEST(postgres_blob_store, an_unreachable_database_is_unavailable) {
  auto res = make_postgres_blob_store("host=127.0.0.1 port=1 connect_timeout=2 user=postgres");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.err().code, errc::unavailable);
}

} // namespace
