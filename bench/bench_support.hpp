#pragma once
// What the benchmarks share: timing, and a fresh database on the server under test.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"

namespace aetherium::bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Drops and creates database `name` on the server of `admin`; returns its conninfo.
inline std::string fresh_database(const std::string& admin, const std::string& name) {
  pqxx::connection conn{admin};
  pqxx::nontransaction tx{conn};
  tx.exec0("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  tx.exec0("CREATE DATABASE " + name);
  return admin + " dbname=" + name;
}

/// Migrates `url` and opens the event store on it; exits with the reason when it cannot.
inline std::shared_ptr<event_store> open_store(const std::string& url) {
  if (auto m = postgres::migrate_up(url); !m) {
    std::fprintf(stderr, "migrate: %s\n", m.err().detail.c_str());
    std::exit(1);
  }
  auto store = make_postgres_event_store(url);
  if (!store) {
    std::fprintf(stderr, "store: %s\n", store.err().detail.c_str());
    std::exit(1);
  }
  return *store;
}

} // namespace aetherium::bench
