// A `/aetherium run` comment becomes a child task of the newest task on its pull request,
// once per comment, decided against the real control plane over in-memory ports.
#include "events/github/follow_up.hpp"

#include <gtest/gtest.h>

#include <future>

#include "tests/support/in_memory_core.hpp"

namespace aetherium::testing {
namespace {

using namespace aetherium::api;
using namespace std::chrono_literals;

class follow_up_test : public ::testing::Test {
protected:
  void SetUp() override {
    create_project_request p;
    p.name = "p";
    p.repo = "https://example.com/r.git";
    auto project = ask<project_view>([&](auto done) { cp_->create_project(acme_, p, done); });
    ASSERT_TRUE(project.ok());
    create_task_request r;
    r.project = project->id;
    r.agent_type = "script";
    r.prompt = "echo hi";
    auto t = ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); });
    ASSERT_TRUE(t.ok());
    parent_ = t->task.id;
    ASSERT_TRUE(core_->advance(parent_, task_status::pr_opened).ok());
  }

  ~follow_up_test() override {
    cp_.reset();
    core_.reset();
  }

  result<void> follow_up(std::int64_t pr, std::int64_t comment_id, const std::string& delivery = "d-1") {
    github::follow_up f;
    f.repo = "https://example.com/r.git";
    f.pr_number = pr;
    f.prompt = "fix the typo";
    f.author = "octocat";
    f.comment_id = comment_id;
    f.delivery_id = delivery;
    auto cp = cp_;
    auto lookup = [cp](const std::string& repo, std::int64_t n, reply<task_view> done) {
      cp->find_by_pull_request(repo, n, std::move(done));
    };
    return ask<void>([&](auto done) { github::follow_up_on_comment(cp_, lookup, f, done); });
  }

  std::vector<task_view> tasks() {
    auto page = ask<task_page>([&](auto done) { cp_->list_tasks(acme_, task_filter{}, done); });
    return page ? page->tasks : std::vector<task_view>{};
  }

  std::unique_ptr<in_memory_core> core_ = std::make_unique<in_memory_core>();
  std::shared_ptr<actors::task_control_plane> cp_ = core_->control();
  caller acme_{tenant_id{"acme"}, "key:1", role::admin};
  task_id parent_;
};

TEST_F(follow_up_test, a_comment_requests_a_child_of_the_pull_requests_task) {
  ASSERT_TRUE(follow_up(1, 42).ok());
  auto all = tasks();
  ASSERT_EQ(all.size(), 2u);
  auto& child = all.front();
  ASSERT_TRUE(child.parent);
  EXPECT_EQ(*child.parent, parent_);
  EXPECT_EQ(child.prompt, "fix the typo");
  EXPECT_EQ(child.tenant.str(), "acme");
  auto events = core_->store()->read_stream(stream_id{"task-" + child.id.str()});
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->front().metadata.principal, "github:octocat");
  EXPECT_EQ(events->front().metadata.correlation_id, "d-1") << "the delivery correlates the task's events";
}

TEST_F(follow_up_test, a_redelivered_comment_requests_nothing_more) {
  ASSERT_TRUE(follow_up(1, 42).ok());
  auto child = tasks().front().id;
  ASSERT_TRUE(core_->advance(child, task_status::pr_updated).ok());
  ASSERT_TRUE(follow_up(1, 42, "d-2").ok()) << "the comment was handled: ok, and no new task";
  EXPECT_EQ(tasks().size(), 2u);
  ASSERT_TRUE(follow_up(1, 43).ok());
  EXPECT_EQ(tasks().size(), 3u) << "another comment is another task";
}

TEST_F(follow_up_test, a_pull_request_aetherium_did_not_open_is_not_found) {
  auto out = follow_up(7, 42);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.err().code, errc::not_found);
  EXPECT_EQ(tasks().size(), 1u);
}

} // namespace
} // namespace aetherium::testing
