#include "adapters/postgres/server_lock.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <pqxx/pqxx>

#include "adapters/postgres/pg_support.hpp"

namespace aetherium::postgres {

namespace {

/// The advisory lock's key ("aetherium" spelt in its bytes); pg_locks shows it as classid
/// (high 32 bits) and objid (low 32 bits).
constexpr long long lock_key = 0x61657468657269;
constexpr const char* application = "aetherium-server ";

std::string who_holds(pqxx::connection& conn) {
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec("SELECT a.application_name, coalesce(host(a.client_addr), 'local'), a.backend_start::text "
                      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                      "AND l.granted AND l.classid = " + std::to_string(lock_key >> 32) + " AND l.objid = "
                      + std::to_string(lock_key & 0xffffffffLL) + " AND l.database = "
                      "(SELECT oid FROM pg_database WHERE datname = current_database())");
  if (rows.empty())
    return "another server";
  auto name = rows[0][0].as<std::string>("");
  if (name.rfind(application, 0) == 0)
    name = name.substr(std::string{application}.size());
  return "the server " + name + " (connected from " + rows[0][1].as<std::string>("") + " since "
         + rows[0][2].as<std::string>("") + ")";
}

/// Connects as `holder` and tries the lock once; the connection when taken.
result<std::unique_ptr<pqxx::connection>> try_take_lock(const std::string& conninfo, const std::string& holder) {
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo);
    bool taken = false;
    {
      pqxx::nontransaction tx{*conn};
      tx.exec("SET application_name = " + tx.quote((application + holder).substr(0, 63)));
      taken = tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(lock_key) + ")")[0].as<bool>();
    }
    if (taken)
      return conn;
    return make_error(errc::conflict, who_holds(*conn) + " runs the tasks of this database; stop it first, "
                                      "or give this server a database of its own");
  } catch (const std::exception& e) {
    return translate(e);
  }
}

class pg_server_lock : public server_lock {
public:
  pg_server_lock(std::string conninfo, std::string holder, std::unique_ptr<pqxx::connection> conn,
                 std::function<void(const std::string&)> on_lost)
    : conninfo_(std::move(conninfo)), holder_(std::move(holder)), conn_(std::move(conn)), on_lost_(std::move(on_lost)) {
    thread_ = std::thread{[this] { keep(); }};
  }

  ~pg_server_lock() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    conn_.reset(); // closing the session releases the lock
  }

private:
  /// Checks the lock's connection every second. The database is talked to without the
  /// mutex held, so stopping never waits on a slow database (only this thread and the
  /// destructor, after the join, touch the connection).
  void keep() {
    std::unique_lock<std::mutex> lock{mtx_};
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      lock.unlock();
      auto lost = check();
      if (lost) {
        if (on_lost_)
          on_lost_("the database lock was lost while the database was away: " + *lost);
        return;
      }
      lock.lock();
    }
  }

  /// Why the lock is lost to another server, or nothing: it is held, or the database is
  /// away (then nobody can take it either, and the next check tries again).
  std::optional<std::string> check() {
    if (alive())
      return std::nullopt;
    auto again = try_take_lock(conninfo_, holder_);
    if (again)
      conn_ = std::move(*again);
    else if (again.err().code == errc::conflict)
      return again.err().detail;
    return std::nullopt;
  }

  bool alive() {
    try {
      if (!conn_)
        return false;
      pqxx::nontransaction tx{*conn_};
      tx.exec("SELECT 1");
      return true;
    } catch (const std::exception&) {
      conn_.reset();
      return false;
    }
  }

  std::string conninfo_, holder_;
  std::unique_ptr<pqxx::connection> conn_;
  std::function<void(const std::string&)> on_lost_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace

result<std::unique_ptr<server_lock>> take_server_lock(const std::string& conninfo, const std::string& holder,
                                                      std::function<void(const std::string& why)> on_lost) {
  auto conn = try_take_lock(conninfo, holder);
  if (!conn)
    return conn.err();
  return std::unique_ptr<server_lock>{std::make_unique<pg_server_lock>(conninfo, holder, std::move(*conn), std::move(on_lost))};
}

} // namespace aetherium::postgres
