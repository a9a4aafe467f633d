#include <stdexcept>

#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/contract/event_store/backend.hpp"
#include "tests/support/pg_test_database.hpp"

namespace aetherium::testing {

namespace {

struct postgres_backend : backend {
  postgres_backend() {
    postgres_event_store_options opts;
    opts.time_source = clock;
    auto s = make_postgres_event_store(db_.url(), opts);
    if (!s)
      throw std::runtime_error("cannot open the store: " + s.err().detail);
    store_ = *s;
    auto c = make_postgres_checkpoint_store(db_.url());
    if (!c)
      throw std::runtime_error("cannot open checkpoints: " + c.err().detail);
    checkpoints_ = *c;
  }
  std::shared_ptr<event_store> store() override { return store_; }
  std::shared_ptr<checkpoint_store> checkpoints() override { return checkpoints_; }

  pg_test_database db_;
  std::shared_ptr<event_store> store_;
  std::shared_ptr<checkpoint_store> checkpoints_;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  return std::make_unique<postgres_backend>();
}

} // namespace aetherium::testing
