// The in-memory control plane keeps the port's contract: tenancy, idempotency, transitions.
#include <gtest/gtest.h>

#include "events/api/memory_control_plane.hpp"

namespace aetherium::testing {
namespace {

using namespace aetherium::api;

template <class T>
result<T> ask(std::function<void(reply<T>)> call) {
  std::optional<result<T>> out;
  call([&](result<T> r) { out.emplace(std::move(r)); });
  EXPECT_TRUE(out.has_value()) << "the memory control plane answers before returning";
  return out ? std::move(*out) : result<T>{make_error(errc::internal, "no answer")};
}

class memory_control_plane_test : public ::testing::Test {
protected:
  std::shared_ptr<memory_control_plane> core_ =
    make_memory_control_plane(std::make_shared<manual_clock>(), make_random_id_generator());
  caller acme_{tenant_id{"acme"}, "key:1", role::admin};
  caller globex_{tenant_id{"globex"}, "key:2", role::admin};

  project_view project(const caller& who, const std::string& name = "p") {
    create_project_request r;
    r.name = name;
    r.repo = "https://example.com/r.git";
    auto p = ask<project_view>([&](auto done) { core_->create_project(who, r, done); });
    EXPECT_TRUE(p.ok());
    return *p;
  }

  result<task_created> create(const caller& who, const project_id& p, const std::string& key = {},
                              const std::string& prompt = "do it") {
    create_task_request r;
    r.project = p;
    r.agent_type = "script";
    r.prompt = prompt;
    return ask<task_created>([&](auto done) { core_->create_task(who, r, key, done); });
  }
};

TEST_F(memory_control_plane_test, another_tenants_project_and_task_are_not_found) {
  auto p = project(acme_);
  auto t = create(acme_, p.id);
  ASSERT_TRUE(t.ok());
  auto id = t->task.id;
  EXPECT_EQ((ask<project_view>([&](auto d) { core_->get_project(globex_, p.id, d); }).err().code), errc::not_found);
  EXPECT_EQ((ask<task_view>([&](auto d) { core_->get_task(globex_, id, d); }).err().code), errc::not_found);
  EXPECT_EQ((ask<task_view>([&](auto d) { core_->cancel_task(globex_, id, d); }).err().code), errc::not_found);
  EXPECT_EQ(create(globex_, p.id).err().code, errc::not_found);
  EXPECT_TRUE((ask<event_page>([&](auto d) { core_->events_after(globex_, 0, 100, d); })->events.empty()));
  EXPECT_EQ((ask<event_page>([&](auto d) { core_->events_after(acme_, 0, 100, d); })->events.size()), 2u);
}

TEST_F(memory_control_plane_test, an_idempotency_key_answers_the_first_task_or_a_conflict) {
  auto p = project(acme_);
  auto first = create(acme_, p.id, "k");
  auto again = create(acme_, p.id, "k");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->task.id, again->task.id);
  EXPECT_FALSE(first->replayed);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(create(acme_, p.id, "k", "another prompt").err().code, errc::conflict);
}

TEST_F(memory_control_plane_test, a_terminal_task_cannot_be_cancelled) {
  auto t = create(acme_, project(acme_).id);
  ASSERT_TRUE(core_->set_task_status(t->task.id, task_status::terminated).ok());
  EXPECT_EQ((ask<task_view>([&](auto d) { core_->cancel_task(acme_, t->task.id, d); }).err().code),
            errc::invalid_transition);
}

TEST_F(memory_control_plane_test, invalid_input_is_refused_with_its_field) {
  auto bad = create(acme_, project(acme_).id, "", "");
  EXPECT_EQ(bad.err().code, errc::invalid_argument);
  EXPECT_EQ(bad.err().field, "prompt");
  create_project_request r;
  r.name = "-starts-with-dash";
  r.repo = "x";
  auto refused = ask<project_view>([&](auto d) { core_->create_project(acme_, r, d); });
  EXPECT_EQ(refused.err().field, "name");
}

TEST_F(memory_control_plane_test, logs_are_followed_from_an_offset_and_end_with_the_task) {
  auto t = create(acme_, project(acme_).id)->task.id;
  ASSERT_TRUE(core_->append_log(t, "stdout", "hello world").ok());
  std::string seen;
  bool opened = false, ended = false;
  auto sub = core_->follow_task_logs(acme_, t, 6,
                                     log_follower{[&](result<void> r) { opened = r.ok(); },
                                                  [&](const log_chunk& c) { seen += c.text; }, [&] { ended = true; }});
  EXPECT_TRUE(opened);
  EXPECT_EQ(seen, "world");
  EXPECT_EQ(core_->live_log_followers(), 1u);
  ASSERT_TRUE(core_->set_task_status(t, task_status::completed).ok());
  EXPECT_TRUE(ended);
  sub->stop();
  EXPECT_EQ(core_->live_log_followers(), 0u);
  EXPECT_FALSE(core_->append_log(t, "stdout", "late").ok());
  result<void> refused;
  core_->follow_task_logs(globex_, t, 0, log_follower{[&](result<void> r) { refused = r; }, {}, {}});
  EXPECT_EQ(refused.err().code, errc::not_found);
}

TEST_F(memory_control_plane_test, stopping_inside_a_callback_ends_delivery) {
  auto t = create(acme_, project(acme_).id)->task.id;
  std::unique_ptr<subscription> sub;
  int chunks = 0;
  sub = core_->follow_task_logs(acme_, t, 0, log_follower{[](result<void>) {}, [&](const log_chunk&) {
                                                            ++chunks;
                                                            sub->stop();
                                                          }, {}});
  ASSERT_TRUE(core_->append_log(t, "stdout", "a").ok());
  ASSERT_TRUE(core_->append_log(t, "stdout", "b").ok());
  EXPECT_EQ(chunks, 1);
}

} // namespace
} // namespace aetherium::testing
