// The relay is fed by a subscription thread and saves checkpoints on a detached actor, so
// this test uses CAF's threaded scheduler and polls the relay's lag with a deadline.
#include "actors/relay.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "events/clock.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::relay_lag)

using namespace aetherium;
using namespace aetherium::actors;

namespace {

class relay_test : public ::testing::Test {
protected:
  struct config : caf::actor_system_config {
    config() { set("scheduler.max-threads", 2); }
  };

  void append(const std::string& stream, int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(store_->append({stream_id{stream}, expected_version::any(),
                                  {{event_id{ids_->next_uuid()}, "task.started", 1, "{\"at_us\": 1}", {}}}}).ok());
  }

  caf::actor start_relay() {
    return spawn_relay(sys_, store_, checkpoints_, [this] {
      auto p = make_memory_event_publisher();
      std::lock_guard<std::mutex> lock(mtx_);
      publishers_.push_back(p);
      if (fail_first_)
        p->fail_next(make_error(errc::unavailable, "broker gone"));
      fail_first_ = false;
      return p;
    });
  }

  relay_lag lag(const caf::actor& relay) {
    relay_lag out;
    self_->request(relay, std::chrono::seconds(10), get_atom::value)
      .receive([&](relay_lag l) { out = l; }, [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
    return out;
  }

  /// Waits until the relay's checkpoint and the saved one reach `position`.
  bool wait_checkpoint(const caf::actor& relay, std::int64_t position) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto saved = checkpoints_->load("kafka-relay");
      if (lag(relay).checkpoint >= position && saved && *saved >= position)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  /// Every message any publisher delivered, in delivery order.
  std::vector<event_message> delivered() {
    std::lock_guard<std::mutex> lock(mtx_);
    std::vector<event_message> out;
    for (auto& p : publishers_)
      for (auto& m : p->messages())
        out.push_back(m);
    return out;
  }

  config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor self_{sys_};
  std::shared_ptr<event_store> store_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<checkpoint_store> checkpoints_ = make_memory_checkpoint_store();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::mutex mtx_;
  std::vector<std::shared_ptr<memory_event_publisher>> publishers_;
  bool fail_first_ = false;
};

/// Positions per stream key, in the order they reached the bus.
std::map<std::string, std::vector<std::int64_t>> by_key(const std::vector<event_message>& messages) {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (auto& m : messages)
    out[m.key].push_back(std::stoll(*m.header(event_header::position)));
  return out;
}

TEST_F(relay_test, publishes_the_log_in_order_to_category_topics_and_advances_its_checkpoint) {
  append("task-a", 3);
  append("project-b", 2);
  auto relay = start_relay();
  ASSERT_TRUE(relay);
  append("task-a", 2);
  ASSERT_TRUE(wait_checkpoint(relay, 7));
  auto messages = delivered();
  ASSERT_EQ(messages.size(), 7u);
  for (std::size_t i = 0; i < messages.size(); ++i)
    EXPECT_EQ(*messages[i].header(event_header::position), std::to_string(i + 1));
  EXPECT_EQ(messages[0].topic, "aetherium.task");
  EXPECT_EQ(messages[3].topic, "aetherium.project");
  EXPECT_EQ(messages[3].key, "project-b");
  self_->send_exit(relay, caf::exit_reason::user_shutdown);
}

TEST_F(relay_test, resumes_after_its_saved_checkpoint_on_restart) {
  append("task-a", 4);
  auto first = start_relay();
  ASSERT_TRUE(wait_checkpoint(first, 4));
  self_->send_exit(first, caf::exit_reason::kill);
  self_->wait_for(first);
  append("task-a", 3);
  auto second = start_relay();
  ASSERT_TRUE(wait_checkpoint(second, 7));
  std::lock_guard<std::mutex> lock(mtx_);
  ASSERT_EQ(publishers_.size(), 2u);
  auto resumed = by_key(publishers_[1]->messages())["task-a"];
  EXPECT_EQ(resumed, (std::vector<std::int64_t>{5, 6, 7})) << "only what follows the checkpoint";
  self_->send_exit(second, caf::exit_reason::user_shutdown);
}

TEST_F(relay_test, a_failed_delivery_republishes_from_the_checkpoint_with_a_new_publisher) {
  fail_first_ = true;
  append("task-a", 5);
  auto relay = start_relay();
  ASSERT_TRUE(wait_checkpoint(relay, 5));
  auto messages = delivered();
  ASSERT_GE(publishers_.size(), 2u) << "the halted publisher was replaced";
  // Nothing lost, per-key order kept by the publisher that delivered everything.
  auto last = by_key(publishers_.back()->messages())["task-a"];
  EXPECT_EQ(last, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  self_->send_exit(relay, caf::exit_reason::user_shutdown);
}

TEST_F(relay_test, a_publisher_blocked_on_a_full_queue_stalls_no_other_actor) {
  /// Blocks in publish() until opened, as a producer whose queue is full.
  struct blocked_publisher : event_publisher {
    explicit blocked_publisher(std::shared_future<void> open) : open_(std::move(open)) {}
    void publish(const recorded_event&, delivery_callback done) override {
      open_.wait();
      done({});
    }
    result<void> flush(std::chrono::milliseconds) override { return {}; }
    std::shared_future<void> open_;
  };
  std::promise<void> opening;
  auto open = opening.get_future().share();
  struct opens_at_end {
    std::promise<void>& p;
    ~opens_at_end() {
      if (open_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        p.set_value();
    }
    std::shared_future<void> open_;
  } guard{opening, open};
  append("task-a", 3);
  // As many blocked relays as the scheduler has threads.
  auto a = spawn_relay(sys_, store_, checkpoints_, [open] { return std::make_shared<blocked_publisher>(open); }, "a");
  auto b = spawn_relay(sys_, store_, checkpoints_, [open] { return std::make_shared<blocked_publisher>(open); }, "b");
  ASSERT_TRUE(a && b);
  auto echo = sys_.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  for (int i = 0; i < 20; ++i) {
    int answer = 0;
    self_->request(echo, std::chrono::seconds(5), i).receive([&](int x) { answer = x; },
                                                            [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
    ASSERT_EQ(answer, i) << "an actor on the shared scheduler stalled behind a blocked publisher";
  }
  opening.set_value();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lag(a).checkpoint < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(lag(a).checkpoint, 3);
  self_->send_exit(a, caf::exit_reason::user_shutdown);
  self_->send_exit(b, caf::exit_reason::user_shutdown);
  self_->send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST_F(relay_test, a_checkpoint_that_fails_to_save_is_saved_again) {
  struct flaky_checkpoints : checkpoint_store {
    std::shared_ptr<checkpoint_store> inner = make_memory_checkpoint_store();
    std::atomic<int> failures{6};
    result<std::int64_t> load(const std::string& name) override { return inner->load(name); }
    result<void> save(const std::string& name, std::int64_t position) override {
      if (failures.fetch_sub(1) > 0)
        return make_error(errc::unavailable, "database down");
      return inner->save(name, position);
    }
  };
  checkpoints_ = std::make_shared<flaky_checkpoints>();
  append("task-a", 3);
  auto relay = start_relay();
  EXPECT_TRUE(wait_checkpoint(relay, 3)) << "a checkpoint whose save failed was never saved";
  self_->send_exit(relay, caf::exit_reason::user_shutdown);
}

TEST_F(relay_test, spawning_fails_when_the_checkpoint_cannot_be_read) {
  struct broken_checkpoints : checkpoint_store {
    result<std::int64_t> load(const std::string&) override { return make_error(errc::unavailable, "down"); }
    result<void> save(const std::string&, std::int64_t) override { return make_error(errc::unavailable, "down"); }
  };
  auto relay = spawn_relay(sys_, store_, std::make_shared<broken_checkpoints>(),
                           [] { return make_memory_event_publisher(); });
  EXPECT_FALSE(relay);
}

} // namespace
