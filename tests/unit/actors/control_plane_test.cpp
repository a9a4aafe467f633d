// The control plane keeps its port's contract (events/api/control_plane.hpp) over the real
// actors: tenancy, idempotency keys, transitions, the audit trail, nodes and task logs.
#include <thread>

#include <gtest/gtest.h>

#include <future>
#include <optional>

#include "events/read_model/task_requests.hpp"
#include "tests/support/in_memory_core.hpp"

namespace aetherium::testing {
namespace {

using namespace aetherium::api;
using namespace std::chrono_literals;

class control_plane_test : public ::testing::Test {
protected:
  std::unique_ptr<in_memory_core> core_ = std::make_unique<in_memory_core>();
  std::shared_ptr<actors::task_control_plane> cp_ = core_->control();
  caller acme_{tenant_id{"acme"}, "key:1", role::admin};
  caller globex_{tenant_id{"globex"}, "key:2", role::admin};

  ~control_plane_test() override {
    cp_.reset();
    core_.reset();
  }

  project_view project(const caller& who, const std::string& name = "p") {
    create_project_request r;
    r.name = name;
    r.repo = "https://example.com/r.git";
    auto p = ask<project_view>([&](auto done) { cp_->create_project(who, r, done); });
    EXPECT_TRUE(p.ok()) << (p ? "" : p.err().detail);
    return p ? *p : project_view{};
  }

  static create_task_request request(const project_id& p, const std::string& prompt = "echo hi") {
    create_task_request r;
    r.project = p;
    r.agent_type = "script";
    r.prompt = prompt;
    return r;
  }

  result<task_created> create(const caller& who, const project_id& p, const std::string& key = {},
                              const std::string& prompt = "echo hi") {
    return ask<task_created>([&](auto done) { cp_->create_task(who, request(p, prompt), key, done); });
  }

  result<task_view> get(const caller& who, const task_id& id) {
    return ask<task_view>([&](auto done) { cp_->get_task(who, id, done); });
  }

  result<task_view> cancel(const caller& who, const task_id& id) {
    return ask<task_view>([&](auto done) { cp_->cancel_task(who, id, done); });
  }

  result<std::vector<event_view>> events_of(const caller& who, const task_id& id) {
    return ask<std::vector<event_view>>([&](auto done) { cp_->task_events(who, id, done); });
  }

  result<event_page> events_after(const caller& who, std::int64_t after, std::size_t limit = 100) {
    return ask<event_page>([&](auto done) { cp_->events_after(who, after, limit, done); });
  }

  result<task_page> list(const caller& who, task_filter filter = {}) {
    return ask<task_page>([&](auto done) { cp_->list_tasks(who, filter, done); });
  }
};

TEST_F(control_plane_test, a_project_is_created_once_per_name_and_read_back) {
  auto p = project(acme_, "web");
  EXPECT_EQ(p.id.str(), read_model::project_id_for(acme_.tenant, "web")) << "the id derives from tenant and name";
  EXPECT_EQ(p.default_base_ref, "main");
  auto got = ask<project_view>([&](auto done) { cp_->get_project(acme_, p.id, done); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "web");
  EXPECT_EQ(got->repo, "https://example.com/r.git");
  create_project_request again;
  again.name = "web";
  again.repo = "elsewhere";
  auto dup = ask<project_view>([&](auto done) { cp_->create_project(acme_, again, done); });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.err().code, errc::conflict);
  EXPECT_EQ(dup.err().field, "name");
  EXPECT_TRUE(ask<project_view>([&](auto done) { cp_->create_project(globex_, again, done); }).ok())
    << "names are unique per tenant only";
}

TEST_F(control_plane_test, a_task_is_requested_with_the_projects_defaults_and_handed_to_the_execution_plane) {
  auto p = project(acme_);
  auto t = create(acme_, p.id);
  ASSERT_TRUE(t.ok()) << t.err().detail;
  EXPECT_FALSE(t->replayed);
  EXPECT_EQ(t->task.status, task_status::requested);
  EXPECT_EQ(t->task.tenant, acme_.tenant);
  EXPECT_EQ(t->task.repo, "https://example.com/r.git");
  EXPECT_EQ(t->task.base_ref, "main");
  EXPECT_EQ(t->task.runtime, "crun");
  EXPECT_EQ(t->task.version, 1);
  ASSERT_TRUE(core_->wait_for_execution(1, 0, 30s));
  EXPECT_EQ(core_->runs(), std::vector<task_id>{t->task.id});
  auto got = get(acme_, t->task.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, t->task.id);
  EXPECT_EQ(got->prompt, "echo hi");
}

TEST_F(control_plane_test, an_idempotency_key_answers_the_first_task_or_a_conflict) {
  auto p = project(acme_);
  auto first = create(acme_, p.id, "k");
  auto again = create(acme_, p.id, "k");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->task.id, again->task.id);
  EXPECT_FALSE(first->replayed);
  EXPECT_TRUE(again->replayed);
  auto other = create(acme_, p.id, "other");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(core_->wait_for_execution(2, 0, 30s));
  EXPECT_EQ(core_->runs(), (std::vector<task_id>{first->task.id, other->task.id})) << "a replay runs nothing";
  auto changed = create(acme_, p.id, "k", "echo something else");
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.err().code, errc::conflict);
  EXPECT_EQ(changed.err().field, "Idempotency-Key");
  auto events = events_of(acme_, first->task.id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u) << "retries record nothing";
}

TEST_F(control_plane_test, idempotency_keys_are_scoped_to_the_tenant) {
  auto mine = create(acme_, project(acme_).id, "k");
  auto theirs = create(globex_, project(globex_).id, "k");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_NE(mine->task.id, theirs->task.id);
  EXPECT_FALSE(theirs->replayed);
}

TEST_F(control_plane_test, a_bad_idempotency_key_or_request_is_refused_with_its_field) {
  auto p = project(acme_);
  auto long_key = create(acme_, p.id, std::string(256, 'k'));
  ASSERT_FALSE(long_key.ok());
  EXPECT_EQ(long_key.err().code, errc::invalid_argument);
  EXPECT_EQ(long_key.err().field, "Idempotency-Key");
  auto no_agent = request(p.id);
  no_agent.agent_type.clear();
  auto refused = ask<task_created>([&](auto done) { cp_->create_task(acme_, no_agent, "", done); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::invalid_argument);
  EXPECT_EQ(refused.err().field, "agent_type");
  create_project_request bad;
  bad.name = "-starts-with-dash";
  bad.repo = "x";
  auto bad_project = ask<project_view>([&](auto done) { cp_->create_project(acme_, bad, done); });
  ASSERT_FALSE(bad_project.ok());
  EXPECT_EQ(bad_project.err().field, "name");
  EXPECT_TRUE(core_->runs().empty());
}

TEST_F(control_plane_test, unknown_ids_are_not_found) {
  task_id nobody{"00000000-0000-4000-8000-000000000000"};
  EXPECT_EQ(get(acme_, nobody).err().code, errc::not_found);
  EXPECT_EQ(cancel(acme_, nobody).err().code, errc::not_found);
  EXPECT_EQ(events_of(acme_, nobody).err().code, errc::not_found);
  EXPECT_EQ((ask<project_view>([&](auto done) { cp_->get_project(acme_, project_id{"nope"}, done); }).err().code),
            errc::not_found);
  auto no_project = create(acme_, project_id{"nope"});
  ASSERT_FALSE(no_project.ok());
  EXPECT_EQ(no_project.err().code, errc::not_found);
  EXPECT_EQ(no_project.err().field, "project");
  auto r = request(project(acme_).id);
  r.parent = nobody;
  auto orphan = ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); });
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.err().field, "parent_task_id");
  auto logs = ask<log_page>([&](auto done) { cp_->read_task_logs(acme_, nobody, 0, 1024, done); });
  EXPECT_EQ(logs.err().code, errc::not_found);
}

TEST_F(control_plane_test, another_tenants_project_and_task_are_not_found) {
  auto p = project(acme_);
  auto t = create(acme_, p.id);
  ASSERT_TRUE(t.ok());
  auto id = t->task.id;
  EXPECT_EQ((ask<project_view>([&](auto d) { cp_->get_project(globex_, p.id, d); }).err().code), errc::not_found);
  EXPECT_EQ(get(globex_, id).err().code, errc::not_found);
  EXPECT_EQ(cancel(globex_, id).err().code, errc::not_found);
  EXPECT_EQ(events_of(globex_, id).err().code, errc::not_found);
  EXPECT_EQ(create(globex_, p.id).err().code, errc::not_found) << "nor can they request tasks in it";
  auto follow_up = request(project(globex_).id);
  follow_up.parent = id;
  EXPECT_EQ((ask<task_created>([&](auto d) { cp_->create_task(globex_, follow_up, "", d); }).err().code),
            errc::not_found);
  EXPECT_TRUE(list(globex_)->tasks.empty());
  EXPECT_EQ(get(acme_, id)->status, task_status::requested) << "and the cancel did not reach it";
}

TEST_F(control_plane_test, tasks_are_listed_newest_first_by_project_and_status) {
  auto a = project(acme_, "a"), b = project(acme_, "b");
  auto t1 = create(acme_, a.id)->task.id;
  auto t2 = create(acme_, a.id)->task.id;
  auto t3 = create(acme_, b.id)->task.id;
  ASSERT_TRUE(core_->advance(t1, task_status::running).ok());
  auto all = list(acme_);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->tasks.size(), 3u);
  EXPECT_EQ(all->tasks[0].id, t3);
  EXPECT_EQ(all->tasks[2].id, t1);
  task_filter in_a;
  in_a.project = a.id;
  in_a.limit = 1;
  auto page = list(acme_, in_a);
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->tasks[0].id, t2);
  in_a.cursor = page->next_cursor;
  auto rest = list(acme_, in_a);
  ASSERT_EQ(rest->tasks.size(), 1u);
  EXPECT_EQ(rest->tasks[0].id, t1);
  task_filter running;
  running.status = task_status::running;
  auto r = list(acme_, running);
  ASSERT_EQ(r->tasks.size(), 1u);
  EXPECT_EQ(r->tasks[0].id, t1);
  EXPECT_TRUE(list(globex_)->tasks.empty());
  task_filter bad;
  bad.cursor = "abc";
  EXPECT_EQ(list(acme_, bad).err().code, errc::invalid_argument);
}

TEST_F(control_plane_test, cancelling_records_the_request_once_and_tells_the_execution_plane) {
  auto t = create(acme_, project(acme_).id)->task.id;
  auto first = cancel(acme_, t);
  ASSERT_TRUE(first.ok()) << first.err().detail;
  EXPECT_EQ(first->status, task_status::cancel_requested);
  auto again = cancel(acme_, t);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, task_status::cancel_requested);
  auto events = events_of(acme_, t);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].type, "task.requested");
  EXPECT_EQ((*events)[1].type, "task.cancel_requested");
  EXPECT_EQ((*events)[1].version, 2);
  EXPECT_EQ((*events)[1].stream, "task-" + t.str());
  ASSERT_TRUE(core_->wait_for_execution(1, 2, 30s));
  EXPECT_EQ(core_->cancels(), (std::vector<task_id>{t, t}));
}

TEST_F(control_plane_test, a_terminal_task_cannot_be_cancelled) {
  auto t = create(acme_, project(acme_).id)->task.id;
  ASSERT_TRUE(core_->advance(t, task_status::completed).ok());
  auto refused = cancel(acme_, t);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::invalid_transition);
  EXPECT_EQ(get(acme_, t)->status, task_status::completed);
  EXPECT_TRUE(core_->cancels().empty());
}

TEST_F(control_plane_test, task_events_are_the_tasks_stream_in_version_order) {
  auto t = create(acme_, project(acme_).id)->task.id;
  ASSERT_TRUE(core_->advance(t, task_status::failed, "boom").ok());
  auto events = events_of(acme_, t);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> types;
  for (auto& e : *events)
    types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"task.requested", "task.failed"}));
  EXPECT_EQ(events->front().schema_version, 2) << "task.requested is at schema version 2";
  EXPECT_EQ(events->back().version, 2);
  EXPECT_LT(events->front().position, events->back().position);
  auto view = get(acme_, t);
  EXPECT_EQ(view->status, task_status::failed);
  EXPECT_EQ(view->failure_reason, "agent_failed");
}

TEST_F(control_plane_test, the_audit_feed_pages_by_position_within_the_tenant) {
  auto p = project(acme_);
  ASSERT_TRUE(create(acme_, p.id).ok());
  ASSERT_TRUE(create(globex_, project(globex_).id).ok());
  ASSERT_TRUE(create(acme_, p.id).ok());
  auto first = events_after(acme_, 0, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events.size(), 2u);
  EXPECT_EQ(first->events[0].type, "project.created");
  EXPECT_EQ(first->events[1].type, "task.requested");
  auto rest = events_after(acme_, first->next_after);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->events.size(), 1u) << "globex's two events are skipped";
  EXPECT_GT(rest->events[0].position, first->next_after);
  EXPECT_EQ(events_after(globex_, 0)->events.size(), 2u);
  EXPECT_EQ(events_after(acme_, -1).err().field, "after");
  EXPECT_EQ(events_after(acme_, 0, 0).err().field, "limit");
}

TEST_F(control_plane_test, nodes_are_listed_as_the_scheduler_knows_them) {
  auto none = ask<std::vector<node_view>>([&](auto done) { cp_->list_nodes(acme_, done); });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  scheduling::node_registration n{node_id{"n1"}, {2000, 4ull << 30, 4}, {"crun", "runsc"}, "10.0.0.1:4242"};
  ASSERT_TRUE(core_->register_node(n).ok());
  auto nodes = ask<std::vector<node_view>>([&](auto done) { cp_->list_nodes(acme_, done); });
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  auto& v = nodes->front();
  EXPECT_EQ(v.id, node_id{"n1"});
  EXPECT_EQ(v.address, "10.0.0.1:4242");
  EXPECT_TRUE(v.up);
  EXPECT_EQ(v.cpu_millis, 2000u);
  EXPECT_EQ(v.sandbox_slots, 4u);
  EXPECT_EQ(v.runtimes, (std::vector<std::string>{"crun", "runsc"}));
}

TEST_F(control_plane_test, a_runtime_no_node_offers_is_refused) {
  in_memory_core_options o;
  o.runtimes = {"crun"};
  cp_.reset();
  core_ = std::make_unique<in_memory_core>(o);
  cp_ = core_->control();
  auto r = request(project(acme_).id);
  r.runtime = "runsc";
  auto refused = ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().field, "runtime");
  r.runtime = "crun";
  EXPECT_TRUE(ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); }).ok());
}

TEST_F(control_plane_test, the_tenant_quota_counts_live_tasks) {
  in_memory_core_options o;
  o.active_task_quota = 1;
  cp_.reset();
  core_ = std::make_unique<in_memory_core>(o);
  cp_ = core_->control();
  auto p = project(acme_);
  auto first = create(acme_, p.id, "first");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(create(acme_, p.id).err().code, errc::quota_exceeded);
  EXPECT_TRUE(create(acme_, p.id, "first")->replayed) << "a retry of a live task is no new task";
  EXPECT_TRUE(create(globex_, project(globex_).id).ok()) << "quotas are per tenant";
  ASSERT_TRUE(core_->advance(first->task.id, task_status::completed).ok());
  EXPECT_TRUE(create(acme_, p.id).ok());
}

TEST_F(control_plane_test, a_tenant_quota_from_the_log_overrides_the_server_default_and_names_its_limit) {
  in_memory_core_options o;
  o.active_task_quota = 5;
  cp_.reset();
  core_ = std::make_unique<in_memory_core>(o);
  cp_ = core_->control();
  using scheduling::tenant_quotas;
  ASSERT_TRUE(core_->record_tenant(acme_.tenant, scheduling::create_tenant{acme_.tenant, "Acme", {2, {}, {}}, 1}).ok());
  auto p = project(acme_);
  auto first = create(acme_, p.id);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(create(acme_, p.id).ok());
  auto refused = create(acme_, p.id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::quota_exceeded);
  EXPECT_EQ(refused.err().field, "max_live_tasks");
  EXPECT_EQ(refused.err().limit, std::optional<std::uint64_t>{2});

  // Lowered below what it holds: its tasks stay, new ones wait for room.
  ASSERT_TRUE(core_->record_tenant(acme_.tenant, scheduling::change_quotas{{1, {}, {}}, 2}).ok());
  EXPECT_EQ(create(acme_, p.id).err().limit, std::optional<std::uint64_t>{1});
  EXPECT_EQ(get(acme_, first->task.id)->status, task_status::requested);
  ASSERT_TRUE(core_->advance(first->task.id, task_status::completed).ok());
  EXPECT_FALSE(create(acme_, p.id).ok()) << "one live task is still its limit";

  // 0 is unlimited; unset falls back to the server's default (5 here).
  ASSERT_TRUE(core_->record_tenant(acme_.tenant, scheduling::change_quotas{{0, {}, {}}, 3}).ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(create(acme_, p.id).ok()) << i;
  ASSERT_TRUE(core_->record_tenant(acme_.tenant, scheduling::change_quotas{{}, 4}).ok());
  EXPECT_EQ(create(acme_, p.id).err().limit, std::optional<std::uint64_t>{5});
  EXPECT_TRUE(create(globex_, project(globex_).id).ok()) << "another tenant has the default";
}

TEST_F(control_plane_test, a_task_asking_more_memory_than_its_tenant_may_hold_is_refused_at_once) {
  ASSERT_TRUE(core_->record_tenant(acme_.tenant,
                                   scheduling::create_tenant{acme_.tenant, "Acme", {{}, {}, 256ull << 20}, 1}).ok());
  auto p = project(acme_);
  auto r = request(p.id);
  r.limits.memory_bytes = 512ull << 20;
  auto refused = ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::quota_exceeded);
  EXPECT_EQ(refused.err().field, "max_memory_bytes");
  EXPECT_EQ(refused.err().limit, std::optional<std::uint64_t>{256ull << 20});
  r.limits.memory_bytes = 256ull << 20;
  EXPECT_TRUE(ask<task_created>([&](auto done) { cp_->create_task(acme_, r, "", done); }).ok());
}

TEST_F(control_plane_test, sandbox_and_memory_quotas_reach_the_scheduler_from_the_log) {
  ASSERT_TRUE(core_->register_node({node_id{"n1"}, {64000, 64ull << 30, 64}, {"crun"}, ""}).ok());
  auto place = [&](const char* task, std::uint64_t memory = 1ull << 30) {
    auto placed = core_->place({task_id{task}, acme_.tenant, "crun", 1000, memory});
    return placed ? std::string{"placed"} : std::string{"error:"} + to_string(placed.err().code) + ":" + placed.err().field;
  };
  EXPECT_EQ(place("t1"), "placed");
  ASSERT_TRUE(core_->record_tenant(acme_.tenant, scheduling::create_tenant{acme_.tenant, "Acme", {{}, 2, 3ull << 30}, 1}).ok());
  // The feed follows the log on its own: poll with a deadline.
  std::string second;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < deadline;) {
    if ((second = place("t2", 3ull << 30)) == "error:quota_exceeded:max_memory_bytes")
      break;
    if (second == "placed") // the quota has not reached the scheduler yet
      core_->release(task_id{"t2"});
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(second, "error:quota_exceeded:max_memory_bytes");
  EXPECT_EQ(place("t2"), "placed");
  EXPECT_EQ(place("t3"), "error:quota_exceeded:max_sandboxes");
}

TEST_F(control_plane_test, readiness_needs_the_event_store) {
  EXPECT_TRUE(ask<void>([&](auto done) { cp_->readiness(done); }).ok());
  core_->set_store_reachable(false);
  auto down = ask<void>([&](auto done) { cp_->readiness(done); });
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.err().code, errc::unavailable);
}

TEST_F(control_plane_test, logs_are_read_and_followed_from_an_offset_and_end_with_the_task) {
  auto t = create(acme_, project(acme_).id)->task.id;
  ASSERT_TRUE(core_->append_log(t, "stdout", "hello world").ok());
  auto page = ask<log_page>([&](auto done) { cp_->read_task_logs(acme_, t, 6, 1024, done); });
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->chunks.size(), 1u);
  EXPECT_EQ(page->chunks[0].text, "world");
  EXPECT_EQ(page->next_offset, 11u);
  EXPECT_FALSE(page->complete);

  std::promise<result<void>> opened;
  std::promise<void> ended;
  std::mutex mtx;
  std::string seen;
  auto sub = cp_->follow_task_logs(acme_, t, 6,
                                   log_follower{[&](result<void> r) { opened.set_value(r); },
                                                [&](const log_chunk& c) {
                                                  std::lock_guard<std::mutex> guard{mtx};
                                                  seen += c.text;
                                                },
                                                [&] { ended.set_value(); }});
  auto open = opened.get_future();
  ASSERT_EQ(open.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(open.get().ok());
  ASSERT_TRUE(core_->wait_live_log_followers(1, 30s));
  ASSERT_TRUE(core_->advance(t, task_status::completed).ok());
  ASSERT_EQ(ended.get_future().wait_for(30s), std::future_status::ready);
  {
    std::lock_guard<std::mutex> guard{mtx};
    EXPECT_EQ(seen, "world");
  }
  sub->stop();
  EXPECT_TRUE(core_->wait_live_log_followers(0, 30s));
  EXPECT_FALSE(core_->append_log(t, "stdout", "late").ok());
  auto done = ask<log_page>([&](auto d) { cp_->read_task_logs(acme_, t, 0, 1024, d); });
  EXPECT_TRUE(done->complete);
}

TEST_F(control_plane_test, another_tenant_cannot_read_or_follow_a_tasks_log) {
  auto t = create(acme_, project(acme_).id)->task.id;
  EXPECT_EQ((ask<log_page>([&](auto d) { cp_->read_task_logs(globex_, t, 0, 1024, d); }).err().code),
            errc::not_found);
  auto refused = ask<void>([&](auto done) {
    auto sub = cp_->follow_task_logs(globex_, t, 0, log_follower{done, {}, {}});
    (void)sub; // the answer comes before the handle matters
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().code, errc::not_found);
}

TEST_F(control_plane_test, a_follow_up_finds_its_parent_by_pull_request) {
  auto p = project(acme_);
  auto parent = create(acme_, p.id)->task.id;
  ASSERT_TRUE(core_->advance(parent, task_status::pr_opened).ok());
  auto found = ask<task_view>([&](auto done) { cp_->find_by_pull_request("https://example.com/r.git", 1, done); });
  ASSERT_TRUE(found.ok()) << found.err().detail;
  EXPECT_EQ(found->id, parent);
  EXPECT_EQ((ask<task_view>([&](auto done) { cp_->find_by_pull_request("https://example.com/r.git", 2, done); })
               .err().code),
            errc::not_found);
}

} // namespace
} // namespace aetherium::testing
