#pragma once
// Test-only: an event store as a server sees it when its subscription lags behind another
// process's writes: reads and appends reach the real store, nothing is pushed.

#include <memory>
#include <utility>
#include <vector>

#include "events/event_store.hpp"

namespace aetherium::testing {

class lagging_subscriptions : public event_store {
public:
  explicit lagging_subscriptions(std::shared_ptr<event_store> inner) : inner_(std::move(inner)) {}
  void append_async(append_request r, append_callback done) override { inner_->append_async(std::move(r), std::move(done)); }
  result<std::vector<recorded_event>> read_stream(const stream_id& s, std::int64_t after) override {
    return inner_->read_stream(s, after);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after, std::size_t n) override {
    return inner_->read_all(after, n);
  }
  result<std::int64_t> head_position() override { return inner_->head_position(); }
  std::unique_ptr<subscription> subscribe(std::int64_t, event_handler) override {
    struct idle : subscription {
      void stop() override {}
    };
    return std::make_unique<idle>();
  }

private:
  std::shared_ptr<event_store> inner_;
};

} // namespace aetherium::testing
