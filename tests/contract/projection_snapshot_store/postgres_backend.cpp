#include <stdexcept>

#include "adapters/postgres/postgres_projection_snapshot_store.hpp"
#include "tests/contract/projection_snapshot_store/backend.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {

namespace {

struct postgres_backend : backend {
  postgres_backend() : store_(open()) {}
  std::shared_ptr<projection_snapshot_store> store() override { return store_; }
  std::shared_ptr<projection_snapshot_store> reopened() override { return open(); }

  std::shared_ptr<projection_snapshot_store> open() {
    auto s = make_postgres_projection_snapshot_store(db_.url());
    if (!s)
      throw std::runtime_error("cannot open the snapshot store: " + s.err().detail);
    return *s;
  }

  pg_test_database db_;
  std::shared_ptr<projection_snapshot_store> store_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<postgres_backend>();
}

} // namespace aetherium::testing
