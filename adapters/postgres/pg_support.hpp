#pragma once

// Internal to adapters/postgres: never included from outside this folder.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "events/event.hpp"
#include "events/result.hpp"

namespace aetherium::postgres {

/// The columns every event read selects, in the order decode_event expects.
extern const char* const event_columns;

/// Decodes one row selected with event_columns. Errors: corrupt, naming the position.
result<recorded_event> decode_event(const pqxx::row& row);

/// A PostgreSQL array literal of text values, e.g. {"a","b\"c"}.
std::string text_array_literal(const std::vector<std::string>& values);

/// Microseconds since the epoch as a timestamptz literal in UTC.
std::string timestamp_literal(std::int64_t us);

/// Turns an exception from libpqxx into an error value: broken connections and unknown
/// commit outcomes become unavailable, constraint violations conflict, bad data
/// invalid_argument, anything else internal.
error translate(const std::exception& e);

/// A small fixed-size pool of connections, opened lazily and reopened when broken.
class connection_pool {
public:
  connection_pool(std::string conninfo, std::size_t size);

  /// A connection lent for one call; returned to the pool when it goes out of scope.
  class lease {
  public:
    lease(connection_pool* pool, std::unique_ptr<pqxx::connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
    lease(lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    ~lease();
    pqxx::connection& operator*() { return *conn_; }
    /// Drops the connection instead of returning it (after a broken connection).
    void discard() { conn_.reset(); }

  private:
    connection_pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  /// Waits for a free connection, opening one if needed. Throws pqxx errors.
  lease acquire();

  const std::string& conninfo() const { return conninfo_; }

private:
  void give_back(std::unique_ptr<pqxx::connection> conn);

  std::string conninfo_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t out_ = 0;
  std::size_t size_;
};

/// Runs f(connection) with a pooled connection, translating exceptions into errors. A
/// connection found broken (an idle one the server dropped on a restart, say) is discarded
/// and `f` runs once more on a fresh one: every caller's `f` is a read or an idempotent
/// write, so running it twice is safe.
template <class T, class F>
result<T> with_connection(connection_pool& pool, F&& f) {
  for (int attempt = 0;; ++attempt) {
    try {
      auto conn = pool.acquire();
      try {
        return f(*conn);
      } catch (const pqxx::broken_connection&) {
        conn.discard();
        throw;
      }
    } catch (const pqxx::broken_connection& e) {
      if (attempt > 0)
        return translate(e);
    } catch (const std::exception& e) {
      return translate(e);
    }
  }
}

} // namespace aetherium::postgres
