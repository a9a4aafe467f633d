#include "tests/support/pg_test_database.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

#include <pqxx/pqxx>

#include "adapters/postgres/migrations.hpp"

namespace aetherium::testing {

std::string pg_admin_url() {
  auto url = std::getenv("AETHERIUM_PG_ADMIN_URL");
  if (!url || !*url)
    throw std::runtime_error("AETHERIUM_PG_ADMIN_URL is not set: run the suite through "
                             "deploy/test.sh, which starts a PostgreSQL server");
  return url;
}

pg_test_database::pg_test_database() : admin_url_(pg_admin_url()) {
  std::random_device rd;
  name_ = "aetherium_test_" + std::to_string(rd()) + std::to_string(rd());
  {
    pqxx::connection admin{admin_url_};
    pqxx::nontransaction tx{admin};
    tx.exec0("CREATE DATABASE " + name_);
  }
  url_ = admin_url_;
  auto at = url_.find("dbname=");
  if (at == std::string::npos)
    url_ += " dbname=" + name_;
  else
    url_.replace(at, url_.find(' ', at) == std::string::npos ? std::string::npos
                                                            : url_.find(' ', at) - at,
                 "dbname=" + name_);
  auto migrated = postgres::migrate_up(url_);
  if (!migrated)
    throw std::runtime_error("migrations failed: " + migrated.err().detail);
}

pg_test_database::~pg_test_database() {
  try {
    pqxx::connection admin{admin_url_};
    pqxx::nontransaction tx{admin};
    tx.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server may be gone at the end of a failure test; the test command wipes it.
  }
}

void pg_test_database::exec_as_superuser(const std::string& sql) const {
  pqxx::connection conn{url_};
  pqxx::nontransaction tx{conn};
  tx.exec(sql);
}

std::string pg_test_database::query_value(const std::string& sql) const {
  pqxx::connection conn{url_};
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec(sql);
  return rows.empty() || rows[0][0].is_null() ? std::string{} : rows[0][0].as<std::string>();
}

} // namespace aetherium::testing
