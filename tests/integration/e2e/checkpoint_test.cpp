// The read model's checkpoints with the real binary on real PostgreSQL: a clean stop saves
// one at the head, the next start loads it (and says from where) and serves the same tasks
// and events; a corrupt checkpoint is ignored and the board rebuilt from position 0; a
// checkpoint that disagrees with the log fails `aetherium replay --verify`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/json/json_board_codec.hpp"
#include "adapters/postgres/postgres_projection_snapshot_store.hpp"
#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

class checkpoint_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    ASSERT_NO_FATAL_FAILURE(start());
    key_ = server_->admin_key("acme");
    ASSERT_FALSE(key_.empty());
    connect();
    project_ = create_sample_project(*api_, repo_);
    ASSERT_FALSE(project_.empty());
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  void start() {
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    if (!key_.empty())
      connect();
  }
  void connect() { api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_}); }
  /// A clean stop (SIGTERM), as an operator's.
  void stop() { server_->kill(SIGTERM); }

  std::string create_task(const std::string& script) {
    auto r = api_->create_task(json{{"project", project_}, {"agent_type", "script"}, {"prompt", script}}.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  /// What the API shows of the read model: the task list, each task's events and the audit feed.
  json api_state() {
    json out;
    auto list = api_->list_tasks({});
    EXPECT_TRUE(list.ok());
    out["tasks"] = list.ok() ? json::parse(*list) : json();
    for (auto& id : tasks_) {
      auto events = api_->task_events(id);
      EXPECT_TRUE(events.ok());
      out["events"][id] = events.ok() ? json::parse(*events) : json();
    }
    auto feed = api_->events_after(0, 1000);
    EXPECT_TRUE(feed.ok());
    out["feed"] = feed.ok() ? json::parse(*feed) : json();
    return out;
  }

  /// The value of a gauge without labels on /metrics, or -1.
  double gauge(const std::string& name) {
    auto r = api_->request("GET", "/metrics");
    if (!r)
      return -1;
    auto at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
  }

  std::int64_t head() { return std::stoll(db_.query_value("SELECT coalesce(max(position), 0) FROM events")); }
  std::int64_t saved_position() {
    return std::stoll(db_.query_value("SELECT coalesce(max(position), -1) FROM projection_snapshots WHERE name = 'task_board'"));
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, key_, project_;
  std::vector<std::string> tasks_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

constexpr const char* edit_script = "set -e\nsed -i 's/Hello, world/Hello from Aetherium/' greeting.txt\n";

TEST_F(checkpoint_e2e, a_restart_starts_from_the_checkpoint_and_a_corrupt_one_rebuilds) {
  tasks_ = {create_task(edit_script), create_task("exit 3"), create_task("echo more > more.txt")};
  for (auto& id : tasks_)
    EXPECT_TRUE(ended(wait_for_task(*api_, id, ended)));
  auto before = api_state();
  ASSERT_EQ(before["tasks"]["tasks"].size(), 3u);
  EXPECT_EQ(gauge("aetherium_read_model_start_position"), 0) << "the first start had no checkpoint";

  // A clean stop saves a checkpoint at the head of the log.
  stop();
  auto at = head();
  ASSERT_GT(at, 0);
  EXPECT_EQ(saved_position(), at);
  auto verified = server_->cli("replay --verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("checkpoint at position " + std::to_string(at) + " matches the log"),
            std::string::npos) << verified.output;

  // The next start loads it, says so, and serves exactly what it served before.
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(gauge("aetherium_read_model_start_position"), static_cast<double>(at));
  EXPECT_NE(server_->log_tail().find("loaded the checkpoint at position " + std::to_string(at)), std::string::npos);
  EXPECT_EQ(api_state(), before);

  // A corrupt checkpoint: a warning, a rebuild from position 0, the same answers.
  stop();
  db_.exec_as_superuser("UPDATE projection_snapshots SET state = 'not a checkpoint'::bytea");
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(gauge("aetherium_read_model_start_position"), 0);
  EXPECT_NE(server_->log_tail().find("is corrupt"), std::string::npos);
  EXPECT_EQ(api_state(), before);
  stop();
  EXPECT_EQ(saved_position(), head()) << "the rebuilt board saved a good checkpoint at stop";

  // A checkpoint that disagrees with the log fails the audit.
  auto snapshots = make_postgres_projection_snapshot_store(db_.url());
  ASSERT_TRUE(snapshots.ok());
  auto codec = make_json_board_codec();
  auto latest = (*snapshots)->load_latest(read_model::board_snapshot_name);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  auto state = codec->decode((*latest)->state);
  ASSERT_TRUE(state.ok()) << state.err().detail;
  state->tasks.at(tasks_[1]).state.status = domain::task_status::completed;
  ASSERT_TRUE((*snapshots)->save({read_model::board_snapshot_name, codec->format_version(), (*latest)->position,
                                  codec->encode(*state)}).ok());
  auto audit = server_->cli("replay --verify");
  EXPECT_EQ(audit.exit_code, 1) << audit.output;
  EXPECT_NE(audit.output.find("CHECKPOINT MISMATCH task " + tasks_[1]), std::string::npos) << audit.output;
}

} // namespace
