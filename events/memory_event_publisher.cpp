#include "events/event_publisher.hpp"

namespace aetherium {

namespace {

std::size_t message_bytes(const event_message& m) {
  std::size_t size = m.key.size() + m.value.size();
  for (auto& h : m.headers)
    size += h.name.size() + h.value.size();
  return size;
}

} // namespace

void memory_event_publisher::publish(const recorded_event& event, delivery_callback done) {
  auto message = to_event_message(event);
  if (!message) {
    done(message.err());
    return;
  }
  std::unique_lock<std::mutex> lock{mtx_};
  if (halted_) {
    auto err = *halted_;
    lock.unlock();
    done(make_error(err.code, "publisher halted after a failed delivery: " + err.detail));
    return;
  }
  if (auto size = message_bytes(*message); size > max_message_bytes) {
    halted_ = make_error(errc::invalid_argument, "message of " + std::to_string(size) +
                                                     " bytes is over the bus limit");
    auto err = *halted_;
    lock.unlock();
    done(std::move(err));
    return;
  }
  pending_event item{std::move(*message), std::move(done)};
  if (holding_) {
    held_.push_back(std::move(item));
    return;
  }
  deliver(std::move(item), lock);
}

void memory_event_publisher::deliver(pending_event item, std::unique_lock<std::mutex>& lock) {
  result<void> outcome;
  if (fail_next_) {
    outcome = *fail_next_;
    halted_ = *fail_next_;
    fail_next_.reset();
  } else {
    delivered_.push_back(std::move(item.message));
  }
  lock.unlock();
  item.done(std::move(outcome));
  lock.lock();
}

result<void> memory_event_publisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mtx_};
  if (!idle_.wait_for(lock, timeout, [this] { return held_.empty() && releasing_ == 0; }))
    return make_error(errc::unavailable, std::to_string(held_.size()) + " deliveries still held");
  return {};
}

std::vector<event_message> memory_event_publisher::messages(const std::string& topic) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (topic.empty())
    return delivered_;
  std::vector<event_message> out;
  for (auto& m : delivered_)
    if (m.topic == topic)
      out.push_back(m);
  return out;
}

void memory_event_publisher::hold() {
  std::lock_guard<std::mutex> guard{mtx_};
  holding_ = true;
}

void memory_event_publisher::release() {
  std::unique_lock<std::mutex> lock{mtx_};
  // Still holding while draining, so events published meanwhile queue up behind.
  while (!held_.empty()) {
    auto item = std::move(held_.front());
    held_.pop_front();
    ++releasing_;
    deliver(std::move(item), lock);
    --releasing_;
  }
  holding_ = false;
  idle_.notify_all();
}

void memory_event_publisher::fail_next(error err) {
  std::lock_guard<std::mutex> guard{mtx_};
  fail_next_ = std::move(err);
}

std::size_t memory_event_publisher::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return held_.size() + releasing_;
}

std::shared_ptr<memory_event_publisher> make_memory_event_publisher() {
  return std::make_shared<memory_event_publisher>();
}

} // namespace aetherium
