#pragma once

#include <string>

namespace aetherium::testing {

/// A fresh, migrated database on the PostgreSQL server the test command started
/// (AETHERIUM_PG_ADMIN_URL), dropped again when this object goes away. Each test gets its
/// own, so tests never see each other's events.
class pg_test_database {
public:
  /// Creates and migrates the database. Throws std::runtime_error with the reason when
  /// the server is not configured or not reachable: a test must fail, never skip.
  pg_test_database();
  ~pg_test_database();
  pg_test_database(const pg_test_database&) = delete;
  pg_test_database& operator=(const pg_test_database&) = delete;

  /// Conninfo of the test database, as the application's role.
  const std::string& url() const { return url_; }
  /// Runs SQL as superuser in the test database (to tamper with it, or to look around).
  void exec_as_superuser(const std::string& sql) const;
  /// First column of the first row of a superuser query.
  std::string query_value(const std::string& sql) const;

private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

/// The admin conninfo, or a thrown std::runtime_error explaining how to set it.
std::string pg_admin_url();

} // namespace aetherium::testing
