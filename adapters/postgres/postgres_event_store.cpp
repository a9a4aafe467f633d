#include "adapters/postgres/postgres_event_store.hpp"

#include <atomic>
#include <thread>

#include "adapters/postgres/pg_appender.hpp"
#include "adapters/postgres/pg_support.hpp"
#include "events/append_planner.hpp"

namespace aetherium {

namespace {

using postgres::connection_pool;
using postgres::decode_event;
using postgres::event_columns;

result<std::vector<recorded_event>> decode_all(const pqxx::result& rows) {
  std::vector<recorded_event> out;
  out.reserve(rows.size());
  for (auto row : rows) {
    auto e = decode_event(row);
    if (!e)
      return e.err();
    out.push_back(std::move(*e));
  }
  return out;
}

result<std::vector<recorded_event>> read_page(pqxx::connection& conn, std::int64_t after,
                                              std::size_t max_count) {
  pqxx::read_transaction tx{conn};
  return decode_all(tx.exec(std::string{"SELECT "} + event_columns + " FROM events WHERE position > "
                            + std::to_string(after) + " ORDER BY position LIMIT "
                            + std::to_string(max_count)));
}

/// Wakes its subscription on every NOTIFY from the events trigger.
class wake_receiver : public pqxx::notification_receiver {
public:
  explicit wake_receiver(pqxx::connection& conn)
    : pqxx::notification_receiver(conn, "aetherium_events") {}
  void operator()(const std::string&, int) override {}
};

/// Catch-up then live delivery on its own thread and connection.
class pg_subscription : public subscription {
public:
  pg_subscription(std::string conninfo, std::int64_t after, event_store::event_handler handler)
    : conninfo_(std::move(conninfo)), after_(after), handler_(std::move(handler)) {
    thread_ = std::thread{[this] { run(); }};
  }
  ~pg_subscription() override { stop(); }

  void stop() override {
    stopping_ = true;
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
      thread_.join();
  }

private:
  void run() {
    while (!stopping_) {
      try {
        pqxx::connection conn{conninfo_};
        wake_receiver receiver{conn};
        follow(conn);
      } catch (const std::exception&) {
        // The database went away: retry until stopped; delivery resumes after after_.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  void follow(pqxx::connection& conn) {
    while (!stopping_) {
      auto page = read_page(conn, after_, 1000);
      if (!page)
        throw std::runtime_error(page.err().detail);
      for (auto& e : *page) {
        if (stopping_)
          return;
        handler_(e);
        after_ = e.position;
      }
      // A notification that arrived while reading is kept by libpq and ends the wait at once;
      // the timeout bounds how long stop() waits.
      if (page->size() < 1000)
        conn.await_notification(0, 200000);
    }
  }

  std::string conninfo_;
  std::int64_t after_;
  event_store::event_handler handler_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class postgres_event_store : public event_store {
public:
  postgres_event_store(std::string conninfo, postgres_event_store_options opts)
    : readers_(conninfo, opts.read_connections),
      appender_(conninfo, opts.time_source ? opts.time_source : make_system_clock(), opts.max_batch_events) {}

  void append_async(append_request request, append_callback done) override {
    auto normalized = normalize(std::move(request));
    if (!normalized)
      return done(normalized.err());
    appender_.submit(std::move(*normalized), std::move(done));
  }

  result<std::vector<recorded_event>> read_stream(const stream_id& stream,
                                                  std::int64_t after_version) override {
    return postgres::with_connection<std::vector<recorded_event>>(readers_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      return decode_all(tx.exec(std::string{"SELECT "} + event_columns
                                + " FROM events WHERE stream_id = " + tx.quote(stream.str())
                                + " AND stream_version > " + std::to_string(after_version)
                                + " ORDER BY stream_version"));
    });
  }

  result<std::vector<recorded_event>> read_all(std::int64_t after_position,
                                               std::size_t max_count) override {
    return postgres::with_connection<std::vector<recorded_event>>(
      readers_, [&](pqxx::connection& c) { return read_page(c, after_position, max_count); });
  }

  result<std::vector<recorded_event>> read_category(const std::string& category, std::int64_t after_position,
                                                    std::size_t max_count) override {
    if (category.empty() || category.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      return event_store::read_category(category, after_position, max_count); // rare names: the generic read
    std::string pattern; // '_' is a LIKE wildcard: matched literally here
    for (char ch : category)
      pattern += ch == '_' ? std::string{"\\_"} : std::string(1, ch);
    pattern += "-%";
    return postgres::with_connection<std::vector<recorded_event>>(readers_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      // The prefix is matched on the (stream_id text_pattern_ops) index of migration 4.
      return decode_all(tx.exec(std::string{"SELECT "} + event_columns + " FROM events WHERE stream_id LIKE "
                                + tx.quote(pattern) + " AND position > " + std::to_string(after_position)
                                + " ORDER BY position LIMIT " + std::to_string(max_count)));
    });
  }

  result<std::int64_t> head_position() override {
    return postgres::with_connection<std::int64_t>(readers_, [](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      return tx.exec1("SELECT last_position FROM event_log_head")[0].as<std::int64_t>();
    });
  }

  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler handler) override {
    return std::make_unique<pg_subscription>(readers_.conninfo(), after, std::move(handler));
  }

private:
  connection_pool readers_;
  postgres::pg_appender appender_;
};

class postgres_checkpoint_store : public checkpoint_store {
public:
  explicit postgres_checkpoint_store(std::string conninfo) : pool_(std::move(conninfo), 2) {}

  result<std::int64_t> load(const std::string& name) override {
    return postgres::with_connection<std::int64_t>(pool_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      auto rows = tx.exec("SELECT position FROM checkpoints WHERE name = " + tx.quote(name));
      return rows.empty() ? std::int64_t{0} : rows[0][0].as<std::int64_t>();
    });
  }

  result<void> save(const std::string& name, std::int64_t position) override {
    if (name.empty())
      return make_error(errc::invalid_argument, "checkpoint name must not be empty", "name");
    auto saved = postgres::with_connection<bool>(pool_, [&](pqxx::connection& c) {
      pqxx::work tx{c};
      tx.exec0("INSERT INTO checkpoints (name, position) VALUES (" + tx.quote(name) + ", "
               + std::to_string(position) + ") ON CONFLICT (name) DO UPDATE SET position = "
               "GREATEST(checkpoints.position, EXCLUDED.position), updated_at = now()");
      tx.commit();
      return true;
    });
    if (!saved)
      return saved.err();
    return {};
  }

private:
  connection_pool pool_;
};

template <class T>
result<std::shared_ptr<T>> probe(const std::string& conninfo, std::shared_ptr<T> store) {
  try {
    pqxx::connection conn{conninfo};
    pqxx::read_transaction tx{conn};
    tx.exec1("SELECT last_position FROM event_log_head");
  } catch (const std::exception& e) {
    return postgres::translate(e);
  }
  return store;
}

} // namespace

result<std::shared_ptr<event_store>> make_postgres_event_store(const std::string& conninfo,
                                                               postgres_event_store_options opts) {
  auto r = probe<event_store>(conninfo, nullptr);
  if (!r)
    return r.err();
  return std::shared_ptr<event_store>{std::make_shared<postgres_event_store>(conninfo, std::move(opts))};
}

result<std::shared_ptr<checkpoint_store>> make_postgres_checkpoint_store(const std::string& conninfo) {
  auto r = probe<checkpoint_store>(conninfo, nullptr);
  if (!r)
    return r.err();
  return std::shared_ptr<checkpoint_store>{std::make_shared<postgres_checkpoint_store>(conninfo)};
}

} // namespace aetherium
