#include "adapters/postgres/migrations.hpp"

#include <pqxx/pqxx>

namespace aetherium::postgres {

namespace {

struct migration {
  int version;
  const char* name;
  const char* up;
  const char* down;
};

#include "adapters/postgres/schema.sql.inc"

constexpr const char* bookkeeping = R"SQL(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))SQL";

// Serializes migrators across processes; released with the transaction.
constexpr const char* lock_sql = "SELECT pg_advisory_xact_lock(4242424242)";

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const pqxx::broken_connection& e) {
    return make_error(errc::unavailable, std::string{"database unreachable: "} + e.what());
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{"migration failed: "} + e.what());
  }
}

bool is_applied(pqxx::work& tx, int version) {
  return !tx.exec("SELECT 1 FROM schema_migrations WHERE version = " + std::to_string(version))
            .empty();
}

} // namespace

result<int> migrate_up(const std::string& conninfo) {
  return guarded([&]() -> result<int> {
    pqxx::connection conn{conninfo};
    int applied = 0;
    for (auto& m : all_migrations) {
      pqxx::work tx{conn};
      tx.exec(lock_sql);
      tx.exec(bookkeeping);
      if (is_applied(tx, m.version))
        continue;
      tx.exec(m.up);
      tx.exec("INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version)
              + ", " + tx.quote(m.name) + ")");
      tx.commit();
      ++applied;
    }
    return applied;
  });
}

result<int> migrate_down(const std::string& conninfo, int steps) {
  return guarded([&]() -> result<int> {
    pqxx::connection conn{conninfo};
    int reverted = 0;
    for (auto it = std::rbegin(all_migrations); it != std::rend(all_migrations) && reverted < steps;
         ++it) {
      pqxx::work tx{conn};
      tx.exec(lock_sql);
      tx.exec(bookkeeping);
      if (!is_applied(tx, it->version))
        continue;
      // The append-only triggers forbid dropping rows one by one, not dropping the table.
      tx.exec(it->down);
      tx.exec("DELETE FROM schema_migrations WHERE version = " + std::to_string(it->version));
      tx.commit();
      ++reverted;
    }
    return reverted;
  });
}

result<std::vector<migration_status>> migrate_status(const std::string& conninfo) {
  return guarded([&]() -> result<std::vector<migration_status>> {
    pqxx::connection conn{conninfo};
    pqxx::work tx{conn};
    tx.exec(bookkeeping);
    std::vector<migration_status> out;
    for (auto& m : all_migrations)
      out.push_back({m.version, m.name, is_applied(tx, m.version)});
    tx.commit();
    return out;
  });
}

} // namespace aetherium::postgres
