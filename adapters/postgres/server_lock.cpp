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

/// The holder's application_name and where it connects from, or nothing when nobody holds the lock.
std::optional<std::pair<std::string, std::string>> lock_holder(pqxx::connection& conn) {
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec("SELECT a.application_name, coalesce(host(a.client_addr), 'local'), a.backend_start::text "
                      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                      "AND l.granted AND l.classid = " + std::to_string(lock_key >> 32) + " AND l.objid = "
                      + std::to_string(lock_key & 0xffffffffLL) + " AND l.database = "
                      "(SELECT oid FROM pg_database WHERE datname = current_database())");
  if (rows.empty())
    return std::nullopt;
  auto name = rows[0][0].as<std::string>("");
  name = name.rfind(application, 0) == 0 ? name.substr(std::string{application}.size()) : std::string{};
  return std::make_pair(name, rows[0][1].as<std::string>("") + " since " + rows[0][2].as<std::string>(""));
}

std::string who_holds(pqxx::connection& conn) {
  auto holder = lock_holder(conn);
  if (!holder)
    return "another server";
  return "the server " + holder->first + " (connected from " + holder->second + ")";
}

/// A connection named after `holder` (pg_stat_activity shows it to the other servers).
std::unique_ptr<pqxx::connection> connect_as(const std::string& conninfo, const std::string& holder) {
  auto conn = std::make_unique<pqxx::connection>(conninfo);
  pqxx::nontransaction tx{*conn};
  tx.exec("SET application_name = " + tx.quote((application + holder).substr(0, 63)));
  return conn;
}

bool try_lock(pqxx::connection& conn) {
  pqxx::nontransaction tx{conn};
  return tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(lock_key) + ")")[0].as<bool>();
}

/// Connects as `holder` and tries the lock once; the connection when taken.
result<std::unique_ptr<pqxx::connection>> try_take_lock(const std::string& conninfo, const std::string& holder) {
  try {
    auto conn = connect_as(conninfo, holder);
    if (try_lock(*conn))
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

class pg_server_lock_waiter : public server_lock_waiter {
public:
  pg_server_lock_waiter(std::string conninfo, std::string holder, std::chrono::milliseconds every,
                        std::function<void(const std::string&)> on_held,
                        std::function<void(std::unique_ptr<server_lock>)> on_taken,
                        std::function<void(const std::string&)> on_lost)
    : conninfo_(std::move(conninfo)), holder_(std::move(holder)), every_(every), on_held_(std::move(on_held)),
      on_taken_(std::move(on_taken)), on_lost_(std::move(on_lost)) {
    thread_ = std::thread{[this] { wait(); }};
  }

  ~pg_server_lock_waiter() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  /// Tries at once, then every `every_` until taken or stopped; the database is talked to
  /// without the mutex held (only this thread touches the connection).
  void wait() {
    std::unique_lock<std::mutex> lock{mtx_};
    do {
      lock.unlock();
      if (attempt())
        return;
      lock.lock();
    } while (!cv_.wait_for(lock, every_, [this] { return stopping_; }));
  }

  /// True once the lock is taken and handed to on_taken.
  bool attempt() {
    try {
      if (!conn_)
        conn_ = connect_as(conninfo_, holder_);
      if (!try_lock(*conn_)) {
        auto holder = lock_holder(*conn_);
        if (on_held_)
          on_held_(holder ? holder->first : std::string{});
        return false;
      }
    } catch (const std::exception&) {
      conn_.reset(); // the database is away: the next try connects again
      return false;
    }
    on_taken_(std::make_unique<pg_server_lock>(conninfo_, holder_, std::move(conn_), on_lost_));
    return true;
  }

  std::string conninfo_, holder_;
  std::chrono::milliseconds every_;
  std::function<void(const std::string&)> on_held_;
  std::function<void(std::unique_ptr<server_lock>)> on_taken_;
  std::function<void(const std::string&)> on_lost_;
  std::unique_ptr<pqxx::connection> conn_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace

result<std::string> server_lock_holder(const std::string& conninfo) {
  try {
    pqxx::connection conn{conninfo};
    auto holder = lock_holder(conn);
    return holder ? holder->first : std::string{};
  } catch (const std::exception& e) {
    return translate(e);
  }
}

std::unique_ptr<server_lock_waiter> wait_for_server_lock(const std::string& conninfo, const std::string& holder,
                                                         std::chrono::milliseconds every,
                                                         std::function<void(const std::string& holder)> on_held,
                                                         std::function<void(std::unique_ptr<server_lock>)> on_taken,
                                                         std::function<void(const std::string& why)> on_lost) {
  return std::make_unique<pg_server_lock_waiter>(conninfo, holder, every, std::move(on_held), std::move(on_taken),
                                                 std::move(on_lost));
}

result<std::unique_ptr<server_lock>> take_server_lock(const std::string& conninfo, const std::string& holder,
                                                      std::function<void(const std::string& why)> on_lost) {
  auto conn = try_take_lock(conninfo, holder);
  if (!conn)
    return conn.err();
  return std::unique_ptr<server_lock>{std::make_unique<pg_server_lock>(conninfo, holder, std::move(*conn), std::move(on_lost))};
}

} // namespace aetherium::postgres
