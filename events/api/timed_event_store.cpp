#include "events/api/timed_event_store.hpp"

#include <chrono>

namespace aetherium::api {
namespace {

class timed_event_store : public event_store {
public:
  timed_event_store(std::shared_ptr<event_store> inner, std::shared_ptr<histogram_metric> seconds,
                    std::shared_ptr<counter_metric> unavailable)
    : inner_(std::move(inner)), seconds_(std::move(seconds)), unavailable_(std::move(unavailable)) {}

  void append_async(append_request request, append_callback done) override {
    auto start = std::chrono::steady_clock::now();
    inner_->append_async(std::move(request), [start, seconds = seconds_, unavailable = unavailable_,
                                              done = std::move(done)](result<append_result> r) {
      seconds->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!r && r.err().code == errc::unavailable && unavailable)
        unavailable->inc();
      done(std::move(r));
    });
  }
  result<std::vector<recorded_event>> read_stream(const stream_id& stream, std::int64_t after_version) override {
    return inner_->read_stream(stream, after_version);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after_position, std::size_t max_count) override {
    return inner_->read_all(after_position, max_count);
  }
  result<std::vector<recorded_event>> read_category(const std::string& category, std::int64_t after_position,
                                                    std::size_t max_count) override {
    return inner_->read_category(category, after_position, max_count);
  }
  result<std::int64_t> head_position() override { return inner_->head_position(); }
  std::unique_ptr<subscription> subscribe(std::int64_t after_position, event_handler handler) override {
    return inner_->subscribe(after_position, std::move(handler));
  }

private:
  std::shared_ptr<event_store> inner_;
  std::shared_ptr<histogram_metric> seconds_;
  std::shared_ptr<counter_metric> unavailable_;
};

} // namespace

std::shared_ptr<event_store> observe_appends(std::shared_ptr<event_store> store,
                                             std::shared_ptr<histogram_metric> seconds,
                                             std::shared_ptr<counter_metric> unavailable) {
  return std::make_shared<timed_event_store>(std::move(store), std::move(seconds), std::move(unavailable));
}

} // namespace aetherium::api
