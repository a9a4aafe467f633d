#include <stdexcept>

#include "adapters/json/event_log_node_registry.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/contract/node_registry/backend.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {

namespace {

/// Each open() gets its own connections to the test database, as a new process would.
struct event_log_postgres_backend : backend {
  std::shared_ptr<node_registry> open(std::shared_ptr<clock> time) override {
    return make_event_log_node_registry(log(), std::move(time), make_random_id_generator());
  }
  std::shared_ptr<event_store> log() override {
    auto log = make_postgres_event_store(db_.url());
    if (!log)
      throw std::runtime_error("cannot open the event store: " + log.err().detail);
    return *log;
  }
  pg_test_database db_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<event_log_postgres_backend>();
}

} // namespace aetherium::testing
