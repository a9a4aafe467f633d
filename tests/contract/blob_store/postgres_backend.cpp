#include <stdexcept>

#include "adapters/postgres/postgres_blob_store.hpp"
#include "tests/contract/blob_store/backend.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {

namespace {

struct postgres_backend : backend {
  postgres_backend() {
    auto s = make_postgres_blob_store(db_.url());
    if (!s)
      throw std::runtime_error("cannot open the blob store: " + s.err().detail);
    store_ = *s;
  }
  std::shared_ptr<blob_store> store() override { return store_; }

  pg_test_database db_;
  std::shared_ptr<blob_store> store_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<postgres_backend>();
}

} // namespace aetherium::testing
