#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/json/event_log_subscription_store.hpp"
#include "events/api/metrics.hpp"
#include "events/notifications/dispatcher.hpp"
#include "tests/unit/notifications/fake_webhook_sender.hpp"

namespace aetherium::notifications {
namespace {

using namespace std::chrono_literals;

/// Polls `pred` for up to 10 s.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class dispatcher_test : public ::testing::Test {
protected:
  dispatcher_test() {
    store_ = make_event_log_subscription_store(log_, ids_);
    service_ = std::make_shared<subscription_service>(store_, secrets_, sender_, make_system_clock(), ids_);
    options_.retry = {3, 5ms, 20ms};
    options_.idle_poll = 20ms;
  }
  ~dispatcher_test() override {
    if (dispatcher_)
      dispatcher_->stop();
  }

  void start() {
    dispatcher_ = std::make_unique<notification_dispatcher>(
      dispatcher_ports{log_, checkpoints_, store_, secrets_, sender_, service_, nullptr}, options_);
    dispatcher_->start();
  }

  subscription_state subscribe(std::string url, std::vector<std::string> events, std::string tenant = "acme") {
    auto made = service_->create(tenant_id{tenant}, "key:t", {std::move(url), "s3cret", std::move(events)});
    EXPECT_TRUE(made.ok()) << made.err().detail;
    return *made;
  }

  void append(const std::string& type, const std::string& tenant = "acme") {
    event_metadata md;
    md.tenant = tenant;
    auto ok = log_->append({stream_id{"task-" + std::to_string(++n_)}, expected_version::any(),
                            {new_event{event_id{ids_->next_uuid()}, type, 1, "{}", md}}});
    ASSERT_TRUE(ok.ok());
  }

  std::shared_ptr<event_store> log_ = make_memory_event_store(make_system_clock());
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<checkpoint_store> checkpoints_ = make_memory_checkpoint_store();
  std::shared_ptr<memory_subscription_secrets> secrets_ = std::make_shared<memory_subscription_secrets>();
  std::shared_ptr<testing::fake_webhook_sender> sender_ = std::make_shared<testing::fake_webhook_sender>(true);
  std::shared_ptr<subscription_store> store_;
  std::shared_ptr<subscription_service> service_;
  dispatcher_options options_;
  std::unique_ptr<notification_dispatcher> dispatcher_;
  int n_ = 0;
};

TEST_F(dispatcher_test, matching_events_of_the_tenant_are_posted_once_in_order_and_signed) {
  append("task.completed"); // before the subscription: not delivered
  auto s = subscribe("http://127.0.0.1:9/hook", {"task.completed"});
  start();
  append("task.completed");
  append("task.failed");
  append("task.completed", "beta");
  append("task.completed");
  ASSERT_TRUE(eventually([&] { return sender_->requests().size() >= 2; }));
  std::this_thread::sleep_for(100ms);
  auto sent = sender_->requests();
  ASSERT_EQ(sent.size(), 2u);
  std::string last_position;
  for (auto& r : sent) {
    std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
    EXPECT_EQ(r.url, "http://127.0.0.1:9/hook");
    EXPECT_EQ(h[headers::signature], signature_header("s3cret", r.body));
    EXPECT_EQ(h[headers::event], "task.completed");
    EXPECT_EQ(h[headers::delivery].rfind(s.id.str() + ".", 0), 0u);
    EXPECT_NE(r.body.find("\"tenant\":\"acme\""), std::string::npos);
  }
  EXPECT_LT(sent[0].body.find("\"position\":3"), std::string::npos);
  EXPECT_LT(sent[1].body.find("\"position\":6"), std::string::npos);
}

TEST_F(dispatcher_test, a_failing_receiver_is_retried_then_the_event_is_dead_lettered) {
  sender_->answer([](const webhook_request&) { return result<webhook_response>{webhook_response{500, "127.0.0.1"}}; });
  auto s = subscribe("http://127.0.0.1:9/hook", {"*"});
  start();
  append("task.completed");
  ASSERT_TRUE(eventually([&] { return !service_->get(tenant_id{"acme"}, s.id)->dead_letters.empty(); }));
  EXPECT_EQ(sender_->requests().size(), 3u);
  auto letter = service_->get(tenant_id{"acme"}, s.id)->dead_letters.front();
  EXPECT_EQ(letter.attempts, 3u);
  EXPECT_EQ(letter.last_status, 500);
  EXPECT_EQ(letter.event_type, "task.completed");
  // The dead letter is itself an event, and never delivered (it would loop).
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sender_->requests().size(), 3u);
}

TEST_F(dispatcher_test, a_slow_receiver_does_not_hold_up_another_subscription) {
  sender_->answer([](const webhook_request& r) {
    if (r.url.find("slow") != std::string::npos)
      std::this_thread::sleep_for(400ms);
    return result<webhook_response>{webhook_response{204, "127.0.0.1"}};
  });
  subscribe("http://127.0.0.1:9/slow", {"*"});
  subscribe("http://127.0.0.1:9/fast", {"*"});
  start();
  for (int i = 0; i < 5; ++i)
    append("task.completed");
  auto fast = [&] {
    int n = 0;
    for (auto& r : sender_->requests())
      n += r.url.find("fast") != std::string::npos;
    return n;
  };
  auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return fast() == 5; }));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1000ms); // the slow one needs 2 s
}

TEST_F(dispatcher_test, a_restarted_dispatcher_resumes_after_its_checkpoint) {
  subscribe("http://127.0.0.1:9/hook", {"*"});
  start();
  append("task.completed");
  append("task.completed");
  ASSERT_TRUE(eventually([&] { return sender_->requests().size() == 2; }));
  std::this_thread::sleep_for(50ms);
  dispatcher_->stop();
  append("task.completed");
  start();
  ASSERT_TRUE(eventually([&] { return sender_->requests().size() == 3; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sender_->requests().size(), 3u);
}

TEST_F(dispatcher_test, a_deleted_subscription_receives_nothing_more) {
  auto s = subscribe("http://127.0.0.1:9/hook", {"*"});
  start();
  append("task.completed");
  ASSERT_TRUE(eventually([&] { return sender_->requests().size() == 1; }));
  ASSERT_TRUE(service_->remove(tenant_id{"acme"}, "key:t", s.id).ok());
  append("task.completed");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sender_->requests().size(), 1u);
  EXPECT_FALSE(secrets_->get(tenant_id{"acme"}, s.id).ok());
}

TEST_F(dispatcher_test, the_service_refuses_destinations_the_guard_refuses_naming_url) {
  auto strict = std::make_shared<testing::fake_webhook_sender>(false);
  subscription_service guarded{store_, secrets_, strict, make_system_clock(), ids_};
  auto made = guarded.create(tenant_id{"acme"}, "key:t", {"http://127.0.0.1:9/", "s", {"*"}});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.err().code, errc::invalid_argument);
  EXPECT_EQ(made.err().field, "url");
  EXPECT_TRUE(guarded.list(tenant_id{"acme"}).empty());
}

TEST_F(dispatcher_test, subscriptions_of_another_tenant_are_not_found) {
  auto s = subscribe("http://127.0.0.1:9/hook", {"*"});
  EXPECT_EQ(service_->get(tenant_id{"beta"}, s.id).err().code, errc::not_found);
  EXPECT_EQ(service_->remove(tenant_id{"beta"}, "k", s.id).err().code, errc::not_found);
  EXPECT_TRUE(service_->list(tenant_id{"beta"}).empty());
  EXPECT_EQ(service_->list(tenant_id{"acme"}).size(), 1u);
}

} // namespace
} // namespace aetherium::notifications
