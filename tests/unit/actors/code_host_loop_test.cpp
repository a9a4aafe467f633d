// The code-host loop over the in-memory event store and a code host that keeps branches,
// pull requests and comments in memory: what it publishes and records for each event, and
// that a loop killed between the code host's call and its append does nothing twice.
#include <gtest/gtest.h>

#include <algorithm>

#include "actors/code_host_loop.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "events/api/memory_task_log.hpp"

using namespace aetherium;
using namespace aetherium::actors;

namespace {

/// Branches as lists of commit messages, pull requests and comments, all in memory.
class memory_code_host : public code_host, public github::pull_request_comments {
public:
  struct pull {
    std::int64_t number;
    std::string branch;
  };
  result<pull_request_ref> open_pull_request(const pull_request_spec& spec, const change_set& changes) override {
    if (refuse)
      return make_error(errc::forbidden, "the token may not push");
    ++opens;
    auto& branch = branches[spec.head_branch];
    if (branch.empty() || !same_commit_message(branch.back().second, spec.commit_message))
      push(spec, changes);
    pulls.push_back({static_cast<std::int64_t>(pulls.size() + 1), spec.head_branch});
    return pull_request_ref{pulls.back().number, "mem://pull/" + std::to_string(pulls.back().number), spec.head_branch,
                            branches[spec.head_branch].back().first};
  }
  result<pull_request_ref> update_pull_request(const pull_request_spec& spec, std::int64_t number,
                                               const change_set& changes) override {
    ++updates;
    push(spec, changes);
    return pull_request_ref{number, "mem://pull/" + std::to_string(number), spec.head_branch,
                            branches[spec.head_branch].back().first};
  }
  result<std::optional<pull_request_ref>> find_pull_request(const pull_request_spec& spec) override {
    for (auto& p : pulls)
      if (p.branch == spec.head_branch)
        return std::optional<pull_request_ref>{
          pull_request_ref{p.number, "mem://pull/" + std::to_string(p.number), p.branch, branches[p.branch].back().first}};
    return std::optional<pull_request_ref>{};
  }
  result<std::optional<std::string>> find_commit(const pull_request_spec& spec, const std::string& marker, int) override {
    auto& branch = branches[spec.head_branch];
    for (auto it = branch.rbegin(); it != branch.rend(); ++it)
      if (has_marker_line(it->second, marker))
        return std::optional<std::string>{it->first};
    return std::optional<std::string>{};
  }
  result<std::int64_t> add_comment(const std::string&, std::int64_t number, const std::string& body) override {
    comments.emplace_back(number, body);
    return static_cast<std::int64_t>(comments.size());
  }
  result<std::string> conversation(const std::string&, std::int64_t) override { return std::string{}; }
  result<std::optional<std::int64_t>> find_comment(const std::string&, std::int64_t number,
                                                   const std::string& marker) override {
    for (std::size_t i = 0; i < comments.size(); ++i)
      if (comments[i].first == number && comments[i].second.find(marker) != std::string::npos)
        return std::optional<std::int64_t>{static_cast<std::int64_t>(i + 1)};
    return std::optional<std::int64_t>{};
  }

  std::map<std::string, std::vector<std::pair<std::string, std::string>>> branches; ///< sha, message
  std::vector<pull> pulls;
  std::vector<std::pair<std::int64_t, std::string>> comments;
  int opens = 0, updates = 0, pushes = 0;
  bool refuse = false;

private:
  void push(const pull_request_spec& spec, const change_set&) {
    ++pushes;
    auto& branch = branches[spec.head_branch];
    branch.emplace_back("c" + std::to_string(pushes), spec.commit_message);
  }
};

class replaying_workspaces : public workspace_provider {
public:
  result<void> prepare(const checkout_request&) override { return {}; }
  result<std::string> checkout(const checkout_request& r) override { return r.ref; }
  result<void> write_task_files(const std::string&, const task_files&) override { return {}; }
  result<change_set> collect(const std::string&, const std::string&, std::size_t) override { return change_set{}; }
  result<void> apply(const std::string&, const change_set&) override { return {}; }
  result<change_set> replay(const std::string&, const std::string& base, const std::string& patch) override {
    ++replays;
    return change_set{base, {{"a.txt", file_change::kind::modified, "new\n", false}}, patch};
  }
  result<void> check_space(const std::string&) override { return {}; }
  std::vector<std::string> list(const std::string&) override { return {}; }
  void release(const std::string&) override {}
  int replays = 0;
};

/// The in-memory store, whose next `lose_appends` appends are not stored and answer
/// unavailable: the loop's process dies between the code host's answer and its append.
class losing_store : public event_store {
public:
  explicit losing_store(std::shared_ptr<event_store> inner) : inner_(std::move(inner)) {}
  void append_async(append_request request, append_callback done) override {
    if (lose_appends > 0) {
      --lose_appends;
      return done(make_error(errc::unavailable, "killed before the append"));
    }
    inner_->append_async(std::move(request), std::move(done));
  }
  result<std::vector<recorded_event>> read_stream(const stream_id& s, std::int64_t after = 0) override {
    return inner_->read_stream(s, after);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after, std::size_t n) override {
    return inner_->read_all(after, n);
  }
  result<std::int64_t> head_position() override { return inner_->head_position(); }
  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler h) override {
    return inner_->subscribe(after, std::move(h));
  }
  int lose_appends = 0;

private:
  std::shared_ptr<event_store> inner_;
};

class code_host_loop_test : public ::testing::Test {
protected:
  code_host_loop_test() {
    ports_ = {store_, codec_, blobs_, workspaces_, host_, host_, logs_, time_};
  }

  /// Appends what `cmd` decides for task `id`; returns the last event recorded.
  recorded_event run(const std::string& id, domain::task_command cmd) {
    auto stream = domain::task::stream_of(id);
    auto stored = store_->read_stream(stream);
    domain::task_state state;
    for (auto& e : *stored)
      state = domain::task::evolve(std::move(state), *codec_->decode(e));
    auto decided = domain::task::decide(state, cmd);
    EXPECT_TRUE(decided.ok()) << decided.err().detail;
    append_request req{stream, expected_version::exactly(static_cast<std::int64_t>(stored->size())), {}};
    for (auto& e : *decided)
      req.events.push_back(codec_->encode(e, "00000000-0000-4000-8000-" + std::to_string(100000000000 + ++ids_), {"acme"}));
    EXPECT_TRUE(store_->append(std::move(req)).ok());
    return store_->read_stream(stream)->back();
  }

  static domain::task_spec spec() {
    domain::task_spec s;
    s.agent_type = "script";
    s.script = "true";
    s.repo = "/srv/acme/repo.git";
    s.base_ref = "main";
    s.verify_command = "make test";
    return s;
  }

  /// Task `id` with its output stored (a patch when `changed`) and, when `verify`, its
  /// verification passed; returns the last event.
  recorded_event ready(const std::string& id, bool changed = true, std::optional<task_id> parent = {}) {
    run(id, domain::request_task{task_id{id}, tenant_id{"acme"}, project_id{"p"}, parent, spec(), 1});
    run(id, domain::schedule_task{node_id{"local"}, 2});
    run(id, domain::record_sandbox{"s", 3, true});
    domain::task_output out;
    out.base_commit = "base";
    if (changed) {
      out.files_changed = 1;
      out.patch_ref = *blobs_->put("--- a/a.txt\n+++ b/a.txt\n");
    }
    run(id, domain::collect_output{out, 4});
    return run(id, domain::record_verification{true, 0, "", 5});
  }

  std::vector<std::string> types(const std::string& id) {
    std::vector<std::string> out;
    auto stored = store_->read_stream(domain::task::stream_of(id));
    for (auto& e : *stored)
      out.push_back(e.type);
    return out;
  }

  std::shared_ptr<aetherium::clock> time_ = std::make_shared<manual_clock>();
  std::shared_ptr<losing_store> store_ = std::make_shared<losing_store>(make_memory_event_store(time_));
  std::shared_ptr<const domain::task_codec> codec_ = make_json_task_codec();
  std::shared_ptr<blob_store> blobs_ = make_memory_blob_store();
  std::shared_ptr<replaying_workspaces> workspaces_ = std::make_shared<replaying_workspaces>();
  std::shared_ptr<memory_code_host> host_ = std::make_shared<memory_code_host>();
  std::shared_ptr<task_log> logs_ = api::make_memory_task_log();
  code_host_loop_ports ports_;
  int ids_ = 0;
};

using types_t = std::vector<std::string>;

TEST_F(code_host_loop_test, a_verified_task_gets_one_pull_request_and_is_completed_however_often_its_event_comes) {
  auto verified = ready("t1");
  code_host_loop loop{ports_, {"/tmp"}};
  for (int delivery = 0; delivery < 3; ++delivery)
    ASSERT_TRUE(loop.handle(verified).ok());
  EXPECT_EQ(host_->opens, 1);
  EXPECT_EQ(host_->pushes, 1);
  ASSERT_EQ(host_->pulls.size(), 1u);
  EXPECT_EQ(host_->pulls[0].branch, "aetherium/task-t1");
  EXPECT_TRUE(has_marker_line(host_->branches["aetherium/task-t1"][0].second, task_commit_marker("t1")));
  auto t = types("t1");
  EXPECT_EQ(types_t(t.end() - 2, t.end()), (types_t{"task.pr_opened", "task.completed"}));
  EXPECT_EQ(std::count(t.begin(), t.end(), "task.pr_opened"), 1);
  std::string log;
  for (auto& c : logs_->read(task_id{"t1"}, 0))
    log += c.text;
  EXPECT_NE(log.find("pull request opened: mem://pull/1"), std::string::npos) << log;
  EXPECT_FALSE(logs_->append(task_id{"t1"}, "stdout", "late").ok()) << "the log of a completed task stays open";
}

TEST_F(code_host_loop_test, a_loop_killed_after_the_code_host_opened_the_pull_request_records_it_without_a_second_one) {
  auto verified = ready("t1");
  store_->lose_appends = 1;
  {
    code_host_loop killed{ports_, {"/tmp"}};
    EXPECT_FALSE(killed.handle(verified).ok());
  }
  ASSERT_EQ(host_->pulls.size(), 1u) << "the first attempt reached the code host";
  auto before = types("t1");
  EXPECT_EQ(before.back(), "task.verification_passed") << "and recorded nothing";
  code_host_loop restarted{ports_, {"/tmp"}};
  ASSERT_TRUE(restarted.handle(verified).ok());
  EXPECT_EQ(host_->pulls.size(), 1u) << "a second pull request was opened";
  EXPECT_EQ(host_->pushes, 1) << "a second commit was pushed";
  EXPECT_EQ(workspaces_->replays, 1) << "the change was rebuilt for a push that was done";
  auto after = types("t1");
  EXPECT_EQ(after.back(), "task.completed");
}

TEST_F(code_host_loop_test, a_follow_up_pushes_to_its_parents_pull_request_once_even_when_killed_before_recording) {
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(ready("parent")).ok());
  auto verified = ready("child", true, task_id{"parent"});
  store_->lose_appends = 1;
  EXPECT_FALSE(loop.handle(verified).ok());
  ASSERT_TRUE(loop.handle(verified).ok());
  EXPECT_EQ(host_->updates, 1) << "the follow-up's change was pushed twice";
  EXPECT_EQ(host_->branches["aetherium/task-parent"].size(), 2u);
  auto t = types("child");
  EXPECT_EQ(types_t(t.end() - 2, t.end()), (types_t{"task.pr_updated", "task.completed"}));
  EXPECT_EQ(host_->pulls.size(), 1u);
}

TEST_F(code_host_loop_test, a_follow_ups_start_and_end_are_commented_once_on_the_pull_request_it_follows) {
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(ready("parent")).ok());
  auto verified = ready("child", true, task_id{"parent"});
  auto started = store_->read_stream(domain::task::stream_of("child"))->at(3);
  ASSERT_EQ(started.type, "task.started");
  ASSERT_TRUE(loop.handle(started).ok());
  ASSERT_TRUE(loop.handle(started).ok());
  ASSERT_TRUE(loop.handle(verified).ok());
  auto completed = store_->read_stream(domain::task::stream_of("child"))->back();
  ASSERT_EQ(completed.type, "task.completed");
  ASSERT_TRUE(loop.handle(completed).ok());
  ASSERT_TRUE(loop.handle(completed).ok());
  ASSERT_EQ(host_->comments.size(), 2u);
  EXPECT_EQ(host_->comments[0].first, 1);
  EXPECT_NE(host_->comments[0].second.find("Follow-up task child started"), std::string::npos);
  EXPECT_NE(host_->comments[1].second.find("Follow-up task child completed: pushed c2"), std::string::npos)
    << host_->comments[1].second;
}

TEST_F(code_host_loop_test, a_code_host_that_refuses_the_change_fails_the_task_with_code_host_error) {
  host_->refuse = true;
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(ready("t1")).ok());
  auto t = types("t1");
  EXPECT_EQ(t.back(), "task.failed");
  auto last = store_->read_stream(domain::task::stream_of("t1"))->back();
  EXPECT_NE(last.payload.find("code_host_error"), std::string::npos) << last.payload;
}

TEST_F(code_host_loop_test, a_task_with_no_change_is_completed_without_a_pull_request) {
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(ready("t1", false)).ok());
  auto t = types("t1");
  EXPECT_EQ(t.back(), "task.completed");
  EXPECT_EQ(host_->opens, 0);
}

TEST_F(code_host_loop_test, a_cancel_after_the_run_ended_terminates_the_task_and_publishes_nothing) {
  ready("t1");
  auto cancel = run("t1", domain::cancel_task{"someone", 6});
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(cancel).ok());
  auto t = types("t1");
  EXPECT_EQ(t.back(), "task.terminated");
  EXPECT_EQ(host_->opens, 0);
}

TEST_F(code_host_loop_test, a_task_still_verifying_is_left_alone) {
  ready("t1");
  run("t2", domain::request_task{task_id{"t2"}, tenant_id{"acme"}, project_id{"p"}, {}, spec(), 1});
  run("t2", domain::schedule_task{node_id{"local"}, 2});
  run("t2", domain::record_sandbox{"s", 3, true});
  auto collected = run("t2", domain::collect_output{{}, 4});
  code_host_loop loop{ports_, {"/tmp"}};
  ASSERT_TRUE(loop.handle(collected).ok());
  auto t = types("t2");
  EXPECT_EQ(t.back(), "task.output_collected") << "its verification is the runner's";
  EXPECT_EQ(host_->opens, 0);
}

} // namespace
