#include "events/notifications/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "events/logger.hpp"

namespace aetherium::notifications {

namespace {

struct dispatcher_series {
  std::shared_ptr<api::counter_metric> delivered, failed, dead_lettered, dead_letters;
  std::shared_ptr<api::gauge_metric> lag;
};

dispatcher_series register_series(api::metrics_registry* m) {
  dispatcher_series s;
  if (!m)
    return s;
  auto outcome = [m](const char* o) {
    return m->get_counter(metric_names::deliveries, "Notification delivery attempts, by outcome.", {{"outcome", o}});
  };
  s.delivered = outcome("delivered");
  s.failed = outcome("failed");
  s.dead_lettered = outcome("dead_lettered");
  s.dead_letters = m->get_counter(metric_names::dead_letters, "Notifications given up after every attempt.");
  s.lag = m->get_gauge(metric_names::lag, "Events between the log head and the slowest subscription's checkpoint.");
  return s;
}

void bump(const std::shared_ptr<api::counter_metric>& c) {
  if (c)
    c->inc();
}

} // namespace

class notification_dispatcher::impl {
public:
  impl(dispatcher_ports ports, dispatcher_options options)
    : ports_(std::move(ports)), options_(std::move(options)), series_(register_series(ports_.metrics.get())) {}

  ~impl() { stop(); }

  void start() {
    if (auto head = ports_.log->head_position())
      head_ = *head;
    feed_ = ports_.log->subscribe(head_.load(), [this](const recorded_event& e) {
      for (auto at = head_.load(); at < e.position && !head_.compare_exchange_weak(at, e.position);)
        ;
      wake();
    });
    manager_ = std::thread{[this] { manage(); }};
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      if (stopping_)
        return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (feed_)
      feed_->stop();
    if (manager_.joinable())
      manager_.join();
    for (auto& [id, w] : workers_)
      w->thread.join();
    workers_.clear();
  }

private:
  struct worker {
    subscription_id id;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> done{false};
    std::atomic<std::int64_t> position{0};
    std::thread thread;
  };

  void wake() {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      ++generation_;
    }
    cv_.notify_all();
  }

  /// Waits up to `d` for a wake-up (any: new events, stop); false once stopping or `w`
  /// is cancelled.
  bool wait(worker* w, std::chrono::milliseconds d, bool until_deadline = false) {
    std::unique_lock<std::mutex> lock{mtx_};
    auto seen = generation_;
    auto deadline = std::chrono::steady_clock::now() + d;
    cv_.wait_until(lock, deadline, [&] {
      return stopping_ || (w && w->cancelled) || (!until_deadline && generation_ != seen);
    });
    return !stopping_ && !(w && w->cancelled);
  }

  /// Starts a thread for each live subscription without one, cancels those deleted,
  /// reaps finished ones and updates the lag, until stopping.
  void manage() {
    do {
      std::map<std::string, bool> live;
      for (auto& s : ports_.subscriptions->all())
        live[s.id.str()] = !s.deleted;
      for (auto it = workers_.begin(); it != workers_.end();) {
        auto found = live.find(it->first);
        if (found == live.end() || !found->second)
          it->second->cancelled = true;
        if (it->second->done) {
          it->second->thread.join();
          it = workers_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto& [id, alive] : live)
        if (alive && !workers_.count(id))
          launch(subscription_id{id});
      report_lag();
    } while (wait(nullptr, options_.idle_poll));
  }

  void launch(const subscription_id& id) {
    auto w = std::make_unique<worker>();
    w->id = id;
    auto* raw = w.get();
    w->thread = std::thread{[this, raw] {
      follow(raw);
      raw->done = true;
    }};
    workers_.emplace(id.str(), std::move(w));
  }

  void report_lag() {
    if (!series_.lag)
      return;
    std::int64_t slowest = head_.load();
    for (auto& [id, w] : workers_)
      slowest = std::min(slowest, w->position.load());
    series_.lag->set(static_cast<double>(std::max<std::int64_t>(0, head_.load() - slowest)));
  }

  std::string checkpoint_name(const subscription_id& id) const { return options_.checkpoint_prefix + id.str(); }

  /// The thread of one subscription: from its checkpoint to the head, then following.
  void follow(worker* w) {
    auto name = checkpoint_name(w->id);
    std::int64_t at = -1;
    while (at < 0) {
      auto saved = ports_.checkpoints->load(name);
      auto s = ports_.subscriptions->load(w->id);
      if (saved && s)
        at = *saved > 0 ? *saved : s->created_position;
      else if (!wait(w, std::chrono::seconds(1), true))
        return;
    }
    w->position = at;
    while (!w->cancelled && !is_stopping()) {
      auto page = ports_.log->read_all(at, options_.page);
      if (!page || page->empty()) {
        if (!wait(w, page ? options_.idle_poll : std::chrono::milliseconds(1000)))
          return;
        continue;
      }
      for (auto& e : *page) {
        if (w->cancelled || is_stopping())
          return; // the checkpoint stays before e
        auto s = ports_.subscriptions->load(w->id);
        if (!s || s->deleted)
          return; // the manager starts it again if it still lives (a failed load)
        if (should_deliver(*s, e)) {
          if (!deliver(w, *s, e))
            return; // stopping: the checkpoint stays before e
          save(name, e.position);
        }
        at = e.position;
        w->position = at;
      }
      save(name, at);
    }
  }

  bool is_stopping() {
    std::lock_guard<std::mutex> lock{mtx_};
    return stopping_;
  }

  void save(const std::string& name, std::int64_t position) {
    if (auto ok = ports_.checkpoints->save(name, position); !ok)
      log(log_level::warn, "notification checkpoint not saved",
          {{"checkpoint", name}, {"position", std::to_string(position)}, {"error", ok.err().detail}});
  }

  /// Delivers `e` to `s`, retrying, then dead-letters it. False when stopped first.
  bool deliver(worker* w, const subscription_state& s, const recorded_event& e) {
    auto secret = ports_.secrets->get(s.tenant, s.id);
    subscription_delivery_dead_lettered letter{e.id.str(), e.type, e.position, 0, 0, {}, 0};
    if (!secret) {
      letter.last_error = "no signing secret: " + secret.err().detail;
    } else {
      auto n = build_notification(s, *secret, e);
      webhook_request req{s.url, std::move(n.headers), std::move(n.body)};
      for (std::uint32_t attempt = 1; attempt <= options_.retry.max_attempts; ++attempt) {
        auto delay = delay_before(options_.retry, attempt);
        if (delay.count() > 0 && !wait(w, delay, true))
          return false;
        letter.attempts = attempt;
        auto r = ports_.sender->post(req);
        if (r && delivered(r->status)) {
          bump(series_.delivered);
          return true;
        }
        bump(series_.failed);
        letter.last_status = r ? r->status : 0;
        letter.last_error = r ? "HTTP " + std::to_string(r->status) : r.err().detail;
        if (w->cancelled || is_stopping())
          return false;
      }
    }
    bump(series_.dead_lettered);
    bump(series_.dead_letters);
    log(log_level::warn, "notification dead-lettered",
        {{"subscription", s.id.str()}, {"event_id", e.id.str()}, {"error", letter.last_error}});
    while (true) {
      auto ok = ports_.service->record_dead_letter(s.id, letter);
      if (ok || ok.err().code == errc::not_found)
        return true;
      if (!wait(w, std::chrono::seconds(1), true))
        return false;
    }
  }

  dispatcher_ports ports_;
  dispatcher_options options_;
  dispatcher_series series_;
  std::atomic<std::int64_t> head_{0};
  std::unique_ptr<aetherium::subscription> feed_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<worker>> workers_; ///< Only the manager thread touches it.
  std::thread manager_;
};

notification_dispatcher::notification_dispatcher(dispatcher_ports ports, dispatcher_options options)
  : impl_(std::make_unique<impl>(std::move(ports), std::move(options))) {}

notification_dispatcher::~notification_dispatcher() = default;

void notification_dispatcher::start() { impl_->start(); }

void notification_dispatcher::stop() { impl_->stop(); }

} // namespace aetherium::notifications
