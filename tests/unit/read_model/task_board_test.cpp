// The task board folds real encoded events (the JSON codecs) exactly as it will find them
// in the log: tenant scoping, list order and cursors, histories, and the pull-request index.
#include <gtest/gtest.h>

#include "adapters/json/json_domain_codec.hpp"
#include "events/read_model/task_board.hpp"
#include "events/read_model/task_requests.hpp"

using namespace aetherium;
using namespace aetherium::read_model;

namespace {

class task_board_test : public ::testing::Test {
protected:
  void record(const std::string& stream, const domain::task_event& e, const std::string& tenant) {
    auto n = tasks_->encode(e, "id-" + std::to_string(position_ + 1), {tenant, "", "", "", ""});
    recorded_event r{n.id, stream_id{stream}, ++versions_[stream], n.type, n.schema_version, n.payload, n.metadata,
                     0, ++position_, "", ""};
    board_.apply(r);
    board_.advance(r.position);
  }

  void request(const std::string& id, const std::string& tenant, const std::string& repo = "/srv/r.git") {
    domain::task_spec spec;
    spec.agent_type = "script";
    spec.prompt = "true";
    spec.repo = repo;
    record("task-" + id, domain::task_requested{task_id{id}, tenant_id{tenant}, project_id{"p"}, {}, spec, 1}, tenant);
  }

  std::shared_ptr<const domain::task_codec> tasks_ = make_json_task_codec();
  task_board board_{tasks_, make_json_project_codec()};
  std::map<std::string, std::int64_t> versions_;
  std::int64_t position_ = 0;
};

TEST_F(task_board_test, another_tenants_task_is_absent_like_a_missing_one) {
  request("a", "acme");
  EXPECT_NE(board_.find_task(tenant_id{"acme"}, task_id{"a"}), nullptr);
  EXPECT_EQ(board_.find_task(tenant_id{"other"}, task_id{"a"}), nullptr);
  EXPECT_EQ(board_.list_tasks(tenant_id{"other"}, api::task_filter{})->tasks.size(), 0u);
  EXPECT_EQ(board_.list_tasks(tenant_id{"acme"}, api::task_filter{})->tasks.size(), 1u);
}

TEST_F(task_board_test, lists_newest_first_and_pages_with_its_cursor) {
  for (auto id : {"1", "2", "3"})
    request(id, "acme");
  api::task_filter f;
  f.limit = 2;
  auto first = board_.list_tasks(tenant_id{"acme"}, f);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->tasks.size(), 2u);
  EXPECT_EQ(first->tasks[0].id.str(), "3");
  f.cursor = first->next_cursor;
  auto second = board_.list_tasks(tenant_id{"acme"}, f);
  ASSERT_EQ(second->tasks.size(), 1u);
  EXPECT_EQ(second->tasks[0].id.str(), "1");
  EXPECT_TRUE(second->next_cursor.empty());
  f.cursor = "x1";
  EXPECT_EQ(board_.list_tasks(tenant_id{"acme"}, f).err().code, errc::invalid_argument);
}

TEST_F(task_board_test, follows_the_lifecycle_and_indexes_the_pull_request) {
  request("a", "acme", "https://github.com/octo/app.git");
  record("task-a", domain::task_scheduled{node_id{"n"}, 2}, "acme");
  EXPECT_EQ(board_.live_tasks(tenant_id{"acme"}), 1u);
  record("task-a", domain::task_cancel_requested{"me", 3}, "acme");
  record("task-a", domain::task_terminated{4}, "acme");
  EXPECT_EQ(board_.live_tasks(tenant_id{"acme"}), 0u);
  EXPECT_EQ(board_.find_task(task_id{"a"})->version, 4);
  request("b", "acme", "https://github.com/octo/app.git");
  record("task-b", domain::task_scheduled{node_id{"n"}, 2}, "acme");
  record("task-b", domain::task_sandbox_provisioned{"s", 3}, "acme");
  record("task-b", domain::task_started{4}, "acme");
  record("task-b", domain::task_output_collected{{}, 5}, "acme");
  record("task-b", domain::task_pr_recorded{false, {"https://github.com/octo/app/pull/7", 7, "aetherium/task-b", "c"}, 6}, "acme");
  auto* found = board_.find_by_pull_request("octo/app", 7);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->state.id.str(), "b");
  EXPECT_EQ(to_view(*found).pr_url, "https://github.com/octo/app/pull/7");
  EXPECT_EQ(board_.find_by_pull_request("octo/app", 8), nullptr);
}

TEST_F(task_board_test, counts_tasks_of_every_tenant_by_status) {
  request("a", "acme");
  request("b", "other");
  request("c", "acme");
  record("task-c", domain::task_scheduled{node_id{"n"}, 2}, "acme");
  auto counts = board_.count_by_status();
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts["requested"], 2u);
  EXPECT_EQ(counts["scheduled"], 1u);
  record("task-c", domain::task_failed{domain::failure_reason::agent_failed, "x", 3}, "acme");
  counts = board_.count_by_status();
  EXPECT_EQ(counts.count("scheduled"), 0u);
  EXPECT_EQ(counts["failed"], 1u);
}

TEST_F(task_board_test, an_undecodable_event_is_counted_and_skipped) {
  recorded_event bad{event_id{"x"}, stream_id{"task-z"}, 1, "task.exploded", 1, "{}", {"acme"}, 0, ++position_, "", ""};
  board_.apply(bad);
  EXPECT_EQ(board_.corrupt_events(), 1u);
  EXPECT_EQ(board_.find_task(task_id{"z"}), nullptr);
}

TEST(task_requests, derived_ids_are_stable_and_github_urls_name_the_repository) {
  EXPECT_EQ(derived_uuid("a"), derived_uuid("a"));
  EXPECT_NE(derived_uuid("a"), derived_uuid("b"));
  EXPECT_EQ(derived_uuid("a").size(), 36u);
  EXPECT_EQ(code_host_repo("https://github.com/octo/app.git"), "octo/app");
  EXPECT_EQ(code_host_repo("git@github.com:octo/app.git"), "octo/app");
  EXPECT_EQ(code_host_repo("/srv/app.git"), "/srv/app.git");
}

} // namespace

namespace {

class task_tree_spend : public task_board_test {
protected:
  void child(const std::string& id, const std::string& parent) {
    domain::task_spec spec;
    spec.agent_type = "script";
    spec.prompt = "true";
    spec.repo = "/srv/r.git";
    record("task-" + id,
           domain::task_requested{task_id{id}, tenant_id{"acme"}, project_id{"p"}, task_id{parent}, spec, 1}, "acme");
  }
  void spend(const std::string& id, std::uint64_t microcents, bool read = true) {
    record("task-" + id, domain::task_model_used{"anthropic", "m", 10, 2, microcents, true, read, 2}, "acme");
  }
};

TEST_F(task_tree_spend, a_tree_sums_its_root_and_every_follow_up_and_nothing_of_other_trees) {
  request("root", "acme");
  child("a", "root");
  child("b", "root");
  child("a1", "a");
  request("other", "acme");
  spend("root", 100);
  spend("a", 20);
  spend("a1", 3);
  spend("b", 4000);
  spend("other", 50000);
  for (auto id : {"root", "a", "b", "a1"})
    EXPECT_EQ(board_.tree_spend_microcents(task_id{id}), 4123u) << id;
  EXPECT_EQ(board_.tree_spend_microcents(task_id{"other"}), 50000u);
  auto* a = board_.find_task(task_id{"a"});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->state.spend.calls, 1u);
  EXPECT_EQ(a->state.spend.input_tokens, 10u);
  EXPECT_EQ(a->state.spend.cost_microcents, 20u);
}

TEST_F(task_tree_spend, the_view_shows_the_spend_and_the_calls_whose_usage_was_unreadable) {
  request("t", "acme");
  spend("t", 7);
  spend("t", 0, false);
  auto view = board_.list_tasks(tenant_id{"acme"}, api::task_filter{});
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->tasks.size(), 1u);
  EXPECT_EQ(view->tasks[0].spend.calls, 2u);
  EXPECT_EQ(view->tasks[0].spend.unread_calls, 1u);
  EXPECT_EQ(view->tasks[0].spend.cost_microcents, 7u);
}

} // namespace
