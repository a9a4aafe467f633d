#include "adapters/postgres/postgres_projection_snapshot_store.hpp"

#include "adapters/postgres/pg_support.hpp"

namespace aetherium {

namespace {

using postgres::connection_pool;

// One row per name; the WHERE keeps a checkpoint from moving backwards within a format.
constexpr const char* upsert_sql =
  "INSERT INTO projection_snapshots (name, format_version, position, state) VALUES ($1, $2, $3, $4) "
  "ON CONFLICT (name) DO UPDATE SET format_version = EXCLUDED.format_version, position = EXCLUDED.position, "
  "state = EXCLUDED.state, saved_at = now() "
  "WHERE projection_snapshots.format_version <> EXCLUDED.format_version "
  "OR projection_snapshots.position <= EXCLUDED.position";
constexpr const char* select_sql =
  "SELECT format_version, position, state FROM projection_snapshots WHERE name = $1";

class postgres_projection_snapshot_store : public projection_snapshot_store {
public:
  explicit postgres_projection_snapshot_store(std::string conninfo) : conn_(std::move(conninfo), 1) {}

  /// Opens the connection and checks that the table exists.
  result<bool> probe() {
    return postgres::with_connection<bool>(conn_, [](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      tx.exec("SELECT name FROM projection_snapshots LIMIT 0");
      return true;
    });
  }

  result<void> save(const projection_snapshot& s) override {
    if (s.name.empty())
      return make_error(errc::invalid_argument, "snapshot name must not be empty", "name");
    if (s.position < 0)
      return make_error(errc::invalid_argument, "snapshot position must not be negative", "position");
    auto saved = postgres::with_connection<bool>(conn_, [&](pqxx::connection& c) {
      pqxx::work tx{c};
      tx.exec_params0(upsert_sql, s.name, s.format_version, s.position,
                      pqxx::binarystring{s.state.data(), s.state.size()});
      tx.commit();
      return true;
    });
    if (!saved)
      return saved.err();
    return {};
  }

  result<std::optional<projection_snapshot>> load_latest(const std::string& name) override {
    return postgres::with_connection<std::optional<projection_snapshot>>(
      conn_, [&](pqxx::connection& c) -> result<std::optional<projection_snapshot>> {
        pqxx::read_transaction tx{c};
        auto rows = tx.exec_params(select_sql, name);
        if (rows.empty())
          return std::optional<projection_snapshot>{};
        projection_snapshot s;
        s.name = name;
        s.format_version = rows[0][0].as<int>();
        s.position = rows[0][1].as<std::int64_t>();
        s.state = pqxx::binarystring{rows[0][2]}.str();
        return std::optional<projection_snapshot>{std::move(s)};
      });
  }

private:
  connection_pool conn_;
};

} // namespace

result<std::shared_ptr<projection_snapshot_store>> make_postgres_projection_snapshot_store(const std::string& conninfo) {
  auto store = std::make_shared<postgres_projection_snapshot_store>(conninfo);
  auto ready = store->probe();
  if (!ready)
    return ready.err();
  return std::shared_ptr<projection_snapshot_store>{std::move(store)};
}

} // namespace aetherium
