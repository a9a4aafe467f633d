#include "adapters/postgres/postgres_blob_store.hpp"

#include <cstdint>

#include "adapters/postgres/pg_support.hpp"
#include "events/sha256.hpp"

namespace aetherium {

namespace {

using postgres::connection_pool;

// Rows are only ever inserted: a ref names one content, so a second put of the same bytes
// has nothing to change.
constexpr const char* insert_sql =
  "INSERT INTO blobs (ref, size, content) VALUES ($1, $2, $3) ON CONFLICT (ref) DO NOTHING";
constexpr const char* select_sql = "SELECT content FROM blobs WHERE ref = $1";

class postgres_blob_store : public blob_store {
public:
  // A pool of one: calls take turns on a single connection, which is reopened lazily
  // after a broken connection was discarded.
  explicit postgres_blob_store(std::string conninfo) : conn_(std::move(conninfo), 1) {}

  /// Opens the connection and checks that the table exists.
  result<bool> probe() {
    return postgres::with_connection<bool>(conn_, [](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      tx.exec("SELECT ref FROM blobs LIMIT 0");
      return true;
    });
  }

  result<std::string> put(std::string_view bytes) override {
    auto ref = blob_ref_of(bytes);
    if (!ref)
      return ref;
    auto stored = postgres::with_connection<bool>(conn_, [&](pqxx::connection& c) {
      pqxx::work tx{c};
      tx.exec_params0(insert_sql, *ref, static_cast<std::int64_t>(bytes.size()),
                      pqxx::binarystring{bytes.data(), bytes.size()});
      tx.commit();
      return true;
    });
    if (!stored)
      return stored.err();
    return ref;
  }

  result<std::string> get(const std::string& ref) override {
    if (auto valid = check_blob_ref(ref); !valid)
      return valid.err();
    auto content = postgres::with_connection<std::string>(
      conn_, [&](pqxx::connection& c) -> result<std::string> {
        pqxx::read_transaction tx{c};
        auto rows = tx.exec_params(select_sql, ref);
        if (rows.empty())
          return make_error(errc::not_found, "no blob stored under " + ref, "ref");
        return pqxx::binarystring{rows[0][0]}.str();
      });
    if (!content)
      return content;
    // Hashed after the connection is handed back, so a large blob does not hold it up.
    if (std::string{blob_ref_prefix} + sha256_hex(*content) != ref)
      return make_error(errc::corrupt, "the bytes stored under " + ref + " do not hash to it");
    return content;
  }

private:
  connection_pool conn_;
};

} // namespace

result<std::shared_ptr<blob_store>> make_postgres_blob_store(const std::string& conninfo) {
  auto store = std::make_shared<postgres_blob_store>(conninfo);
  auto ready = store->probe();
  if (!ready)
    return ready.err();
  return std::shared_ptr<blob_store>{std::move(store)};
}

} // namespace aetherium
