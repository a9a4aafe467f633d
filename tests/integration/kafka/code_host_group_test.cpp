// The code-host loop as members of one Kafka consumer group, against the real broker,
// PostgreSQL and a local git repository: verified tasks are published once each, however
// the group spreads them, and the members share the work.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "actors/code_host_loop.hpp"
#include "adapters/git/git_adapters.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "adapters/postgres/postgres_blob_store.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/integration/kafka/kafka_fixture.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
namespace fs = std::filesystem;

namespace {

class code_host_group : public kafka_test {
protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(kafka_test::SetUp());
    auto store = make_postgres_event_store(db_.url());
    ASSERT_TRUE(store.ok()) << store.err().detail;
    store_ = *store;
    auto blobs = make_postgres_blob_store(db_.url());
    ASSERT_TRUE(blobs.ok()) << blobs.err().detail;
    blobs_ = *blobs;
    char tmpl[] = "/tmp/code-host-group.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    repo_ = dir_ + "/repo.git";
    ASSERT_TRUE(create_bare_repository(repo_, "main", {{"README.md", "hello\n"}}).ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Appends what `cmd` decides for task `id`.
  void run(const std::string& id, domain::task_command cmd) {
    auto stream = domain::task::stream_of(id);
    auto stored = store_->read_stream(stream);
    ASSERT_TRUE(stored.ok());
    domain::task_state state;
    for (auto& e : *stored)
      state = domain::task::evolve(std::move(state), *codec_->decode(e));
    auto decided = domain::task::decide(state, cmd);
    ASSERT_TRUE(decided.ok()) << decided.err().detail;
    append_request req{stream, expected_version::exactly(static_cast<std::int64_t>(stored->size())), {}};
    for (auto& e : *decided)
      req.events.push_back(codec_->encode(e, ids_->next_uuid(), {"acme"}));
    ASSERT_TRUE(store_->append(std::move(req)).ok());
  }

  /// A task whose agent wrote `file` and whose verification passed, as the runner leaves it.
  void verified_task(const std::string& id, const std::string& file) {
    auto ws = dir_ + "/ws-" + id;
    checkout_request r{repo_, "main", ws, tenant_id{"acme"}, 0, std::chrono::steady_clock::time_point::max(), {}};
    auto base = workspaces_->checkout(r);
    ASSERT_TRUE(base.ok()) << base.err().detail;
    std::ofstream{ws + "/" + file} << "written by " << id << "\n";
    auto changes = workspaces_->collect(ws, *base, 1 << 20);
    ASSERT_TRUE(changes.ok()) << changes.err().detail;
    workspaces_->release(ws);
    domain::task_spec spec;
    spec.agent_type = "script";
    spec.prompt = spec.script = "echo > " + file;
    spec.repo = repo_;
    spec.base_ref = "main";
    spec.verify_command = "true";
    ASSERT_NO_FATAL_FAILURE(run(id, domain::request_task{task_id{id}, tenant_id{"acme"}, project_id{"p"}, {}, spec, 1}));
    ASSERT_NO_FATAL_FAILURE(run(id, domain::schedule_task{node_id{"local"}, 2}));
    ASSERT_NO_FATAL_FAILURE(run(id, domain::record_sandbox{"s-" + id, 3, true}));
    domain::task_output out;
    out.files_changed = 1;
    out.base_commit = *base;
    out.patch_ref = *blobs_->put(changes->patch);
    ASSERT_NO_FATAL_FAILURE(run(id, domain::collect_output{out, 4}));
    ASSERT_NO_FATAL_FAILURE(run(id, domain::record_verification{true, 0, "", 5}));
  }

  /// A member of the group with a code-host loop and a code host of its own.
  std::unique_ptr<event_consumer> member(const std::string& group, std::atomic<int>& ours) {
    actors::code_host_loop_ports ports{store_, codec_, blobs_, workspaces_, make_local_git_code_host(), nullptr,
                                       nullptr, make_system_clock()};
    auto loop = std::make_shared<actors::code_host_loop>(ports, actors::code_host_loop_options{dir_ + "/publish"});
    auto options = consumer_options({"aetherium.task"}, group);
    options.extra_config = {{"heartbeat.interval.ms", "200"}, {"session.timeout.ms", "6000"}};
    // No dedupe window: the loop sees every repeat, as a member that took over a
    // partition after a rebalance would.
    options.dedupe_window = 0;
    return consume(options, [this, loop, &ours](const consumed_event& c) {
      if (tasks_.count(c.event.stream.str().substr(5)))
        ++ours;
      return loop->handle(c.event);
    });
  }

  std::vector<std::string> types(const std::string& id) {
    std::vector<std::string> out;
    auto stored = store_->read_stream(domain::task::stream_of(id));
    if (stored)
      for (auto& e : *stored)
        out.push_back(e.type);
    return out;
  }

  pg_test_database db_;
  std::shared_ptr<event_store> store_;
  std::shared_ptr<blob_store> blobs_;
  std::shared_ptr<const domain::task_codec> codec_ = make_json_task_codec();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<workspace_provider> workspaces_ = make_git_workspace_provider(0, 0);
  std::string dir_, repo_;
  std::set<std::string> tasks_;
};

TEST_F(code_host_group, two_members_share_the_verified_tasks_and_open_one_pull_request_each) {
  auto group = "code-host-" + category_;
  std::atomic<int> by_first{0}, by_second{0};
  auto first = member(group, by_first);
  auto second = member(group, by_second);
  ASSERT_TRUE(first && second);
  std::this_thread::sleep_for(std::chrono::seconds(5)); // both join before the work arrives

  const int n = 16;
  for (int i = 0; i < n; ++i) {
    auto id = category_ + "-" + std::to_string(i);
    tasks_.insert(id);
    ASSERT_NO_FATAL_FAILURE(verified_task(id, "file-" + std::to_string(i) + ".txt"));
  }
  auto head = store_->head_position();
  ASSERT_TRUE(head.ok());
  auto all = store_->read_all(0, static_cast<std::size_t>(*head));
  ASSERT_TRUE(all.ok());
  std::vector<recorded_event> ours;
  for (auto& e : *all)
    if (tasks_.count(e.stream.str().substr(5)))
      ours.push_back(e);
  ASSERT_NO_FATAL_FAILURE(publish_all(ours));
  // A relay replays after a crash: the same events again.
  ASSERT_NO_FATAL_FAILURE(publish_all(ours));

  ASSERT_TRUE(eventually([&] {
    for (auto& id : tasks_)
      if (types(id).back() != "task.completed")
        return false;
    return true;
  }, 120s)) << "not every task was published";
  std::this_thread::sleep_for(std::chrono::seconds(1)); // repeats still being handled
  first->stop();
  second->stop();

  for (auto& id : tasks_) {
    auto t = types(id);
    EXPECT_EQ(std::count(t.begin(), t.end(), "task.pr_opened"), 1) << id;
    EXPECT_EQ(std::count(t.begin(), t.end(), "task.completed"), 1) << id;
    auto commits = run_command("git --git-dir='" + repo_ + "' rev-list --count main..aetherium/task-" + id);
    EXPECT_EQ(commits.output, "1\n") << id << ": the change was pushed more than once";
  }
  std::size_t pulls = 0;
  for (auto& entry : fs::directory_iterator(repo_ + "/aetherium/pulls"))
    pulls += entry.is_regular_file();
  EXPECT_EQ(pulls, static_cast<std::size_t>(n)) << "a task got a second pull request";
  EXPECT_GT(by_first.load(), 0) << "the first member got no task";
  EXPECT_GT(by_second.load(), 0) << "the second member got no task";
  std::cerr << "events handled: first member " << by_first << ", second " << by_second << "\n";
}

} // namespace
