#include "events/integrations/log_consumer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "events/logger.hpp"

namespace aetherium {

namespace {

class store_log_consumer final : public log_consumer {
public:
  store_log_consumer(std::shared_ptr<event_store> store, std::shared_ptr<checkpoint_store> checkpoints,
                     log_consumer_options options, consumed_event_handler handler, std::int64_t checkpoint)
      : store_(std::move(store)), checkpoints_(std::move(checkpoints)), options_(std::move(options)),
        handler_(std::move(handler)), position_(checkpoint), saved_(checkpoint) {
    feed_ = store_->subscribe(checkpoint, [this](const recorded_event& e) {
      // The feed (its own thread and connection) waits while the handler is far behind,
      // so a long catch-up never holds the whole log in memory.
      std::unique_lock<std::mutex> lock{mtx_};
      room_.wait(lock, [this] { return stopping_ || queue_.size() < max_queued; });
      queue_.push_back(e);
      wake_.notify_all();
    });
    worker_ = std::thread{[this] { work(); }};
  }

  ~store_log_consumer() override { stop(); }

  void stop() override {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      if (stopping_)
        return;
      stopping_ = true;
      wake_.notify_all();
      room_.notify_all();
    }
    if (feed_)
      feed_->stop();
    if (worker_.joinable())
      worker_.join();
    save(); // what was handled is not handled again after a clean stop
  }

  consumer_stats stats() const override {
    std::lock_guard<std::mutex> lock{mtx_};
    return stats_;
  }

  std::int64_t position() const override { return position_.load(); }

private:
  void work() {
    std::size_t unsaved = 0;
    for (;;) {
      recorded_event next;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        // Caught up: the checkpoint follows once the log has been quiet for a moment, not
        // after every event (that would be one more write per event appended).
        if (unsaved > 0 && !wake_.wait_for(lock, options_.save_when_idle, [this] { return stopping_ || !queue_.empty(); })) {
          lock.unlock();
          save();
          unsaved = 0;
          lock.lock();
        }
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_)
          return;
        next = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_all();
      }
      if (next.position <= position_.load())
        continue;
      if (!handle(next))
        return; // stopping
      position_.store(next.position);
      if (++unsaved >= options_.save_every) {
        save();
        unsaved = 0;
      }
    }
  }

  /// Calls the handler until it succeeds; false once the consumer stops first.
  bool handle(const recorded_event& e) {
    consumed_event c;
    c.event = e;
    c.offset = e.position;
    auto pause = options_.backoff;
    for (;;) {
      auto r = handler_(c);
      if (r) {
        std::lock_guard<std::mutex> lock{mtx_};
        ++stats_.handled;
        return true;
      }
      if (c.attempt == 1 || c.attempt % 10 == 0)
        log(log_level::warn, "log consumer retrying an event",
            {{"consumer", options_.name}, {"position", std::to_string(e.position)}, {"type", e.type},
             {"stream", e.stream.str()}, {"attempt", std::to_string(c.attempt)}, {"error", r.err().detail}});
      std::unique_lock<std::mutex> lock{mtx_};
      ++stats_.retries;
      if (wake_.wait_for(lock, pause, [this] { return stopping_; }))
        return false;
      pause = std::min(pause * 2, options_.max_backoff);
      ++c.attempt;
    }
  }

  void save() {
    auto at = position_.load();
    if (at <= saved_)
      return;
    if (auto saved = checkpoints_->save(options_.name, at); saved)
      saved_ = at;
    else
      log(log_level::warn, "log consumer checkpoint not saved",
          {{"consumer", options_.name}, {"position", std::to_string(at)}, {"error", saved.err().detail}});
  }

  std::shared_ptr<event_store> store_;
  std::shared_ptr<checkpoint_store> checkpoints_;
  log_consumer_options options_;
  consumed_event_handler handler_;
  std::atomic<std::int64_t> position_;
  std::int64_t saved_; ///< Only the worker (and stop, after it ended) touches it.
  mutable std::mutex mtx_;
  static constexpr std::size_t max_queued = 4096;
  std::condition_variable wake_;
  std::condition_variable room_;
  std::deque<recorded_event> queue_;
  consumer_stats stats_;
  bool stopping_ = false;
  std::unique_ptr<subscription> feed_;
  std::thread worker_;
};

} // namespace

result<std::unique_ptr<log_consumer>> make_log_consumer(std::shared_ptr<event_store> store,
                                                        std::shared_ptr<checkpoint_store> checkpoints,
                                                        log_consumer_options options, consumed_event_handler handler) {
  if (options.name.empty())
    return make_error(errc::invalid_argument, "a log consumer needs a name", "name");
  if (!handler || !store || !checkpoints)
    return make_error(errc::invalid_argument, "a log consumer needs a store, checkpoints and a handler", "handler");
  auto checkpoint = checkpoints->load(options.name);
  if (!checkpoint)
    return checkpoint.err();
  return std::unique_ptr<log_consumer>{std::make_unique<store_log_consumer>(
    std::move(store), std::move(checkpoints), std::move(options), std::move(handler), *checkpoint)};
}

} // namespace aetherium
