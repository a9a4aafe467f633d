// Attacks through the public API, with real parts only: the aetherium binary, PostgreSQL,
// crun and git. Each agent script does what a hostile (or prompt-injected) agent would do
// to the host after it finishes; each test asserts the host is untouched.
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"
#include "tests/support/silent_listener.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

constexpr const char* jwt_secret = "jwt-secret-that-must-never-leak-4f1c";
constexpr const char* beta_secret = "beta-secret-value-that-must-never-leak-77e2";
constexpr const char* acme_secret = "acme-secret-value-that-must-be-redacted-91d0";

class attacks : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    for (auto [tenant, value] : {std::pair{"beta", beta_secret}, std::pair{"acme", acme_secret}}) {
      auto dir = work_.path + "/data/secrets/" + tenant;
      std::filesystem::create_directories(dir);
      std::ofstream{dir + "/token"} << value;
    }
    start_server("");
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  void start_server(const std::string& env) {
    server_.reset();
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_,
                                               std::string{"AETHERIUM_JWT_SECRET="} + jwt_secret + " " + env);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    if (key_.empty())
      key_ = server_->admin_key("acme");
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
    if (!project_.empty())
      return;
    auto project = api_->create_project(json{{"name", "sample"}, {"repo", repo_}, {"verify_command", "sh check.sh"}}.dump());
    ASSERT_TRUE(project.ok()) << project.err().detail;
    project_ = json::parse(*project).at("id");
  }

  /// Runs `script` as a script agent and waits for the task to end.
  json run(const std::string& script, json extra = json::object(), http::api_client* as = nullptr) {
    extra["project"] = extra.value("project", project_);
    extra["agent_type"] = "script";
    extra["prompt"] = script;
    auto r = (as ? as : api_.get())->create_task(extra.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    if (!r)
      return {};
    return wait_terminal(json::parse(*r).at("id"), as);
  }

  json wait_terminal(const std::string& id, http::api_client* as = nullptr) {
    json t;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = (as ? as : api_.get())->get_task(id);
      if (r) {
        t = json::parse(*r);
        auto s = t.value("status", "");
        if (s == "completed" || s == "failed" || s == "terminated")
          return t;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "task " << id << " never ended; last seen: " << t.dump();
    return t;
  }

  std::string events_text(const std::string& id) {
    auto r = api_->task_events(id);
    return r ? *r : std::string{};
  }

  std::string logs_text(const std::string& id) {
    auto r = api_->request("GET", "/v1/tasks/" + id + "/logs");
    return r ? r->body : std::string{};
  }

  std::string git(const std::string& args) { return run_command("git --git-dir='" + repo_ + "' " + args).output; }

  /// Everything the task left anywhere a user can read it: view, events, log, PR branch.
  std::string everything_of(const json& task) {
    auto id = task.value("id", "");
    auto branch = "aetherium/task-" + id;
    return task.dump() + events_text(id) + logs_text(id) + git("grep -a -h -e . " + branch + " --") +
           git("log -p " + branch + " --");
  }

  temp_dir work_;
  pg_test_database db_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
  std::string image_, repo_, key_, project_;
};

constexpr const char* fix_greeting = "echo 'Hello, Aetherium' > greeting.txt\n";

TEST_F(attacks, git_config_hooks_and_index_planted_by_the_agent_never_run_on_the_host) {
  auto marker = work_.path + "/pwned";
  auto touch = "touch " + marker;
  std::string script = "set -e\nmkdir -p .git/hooks sub/.GIT hooks .Git.\n"
                       "printf '[core]\\n\\tfsmonitor = \"" + touch + "\"\\n\\thooksPath = hooks\\n[diff]\\n\\texternal = \"" +
                       touch + "\"\\n[filter \"x\"]\\n\\tclean = \"" + touch + "\"\\n[diff \"x\"]\\n\\ttextconv = \"" + touch +
                       "\"\\n' > .git/config\n"
                       "for h in post-index-change pre-commit post-commit reference-transaction pre-push post-checkout; do\n"
                       "  printf '#!/bin/sh\\n" + touch + "\\n' > .git/hooks/$h; chmod +x .git/hooks/$h; cp .git/hooks/$h hooks/$h\n"
                       "done\n"
                       "cp .git/config sub/.GIT/config; cp .git/config .Git./config\n"
                       "printf 'DIRC\\0\\0\\0\\2\\0\\0\\0\\1' > .git/index; echo 'ref: refs/heads/main' > .git/HEAD\n"
                       "echo '* filter=x diff=x' > .gitattributes\n" + fix_greeting;
  auto t = run(script);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
  EXPECT_FALSE(std::filesystem::exists(marker)) << "git metadata written by the agent ran on the host";
  auto tree = git("ls-tree -r --name-only aetherium/task-" + t.value("id", ""));
  EXPECT_NE(tree.find("greeting.txt"), std::string::npos) << tree;
  EXPECT_NE(tree.find(".gitattributes"), std::string::npos) << tree;
  for (auto planted : {".git/", ".GIT/", ".Git./"})
    EXPECT_EQ(tree.find(planted), std::string::npos) << planted << " reached the pull request:\n" << tree;
  EXPECT_NE(logs_text(t.value("id", "")).find("not part of the change: .git"), std::string::npos);
}

TEST_F(attacks, links_to_host_files_are_recorded_as_links_and_never_followed) {
  std::string script = std::string{"set -e\n"} + "ln -s /etc/shadow shadow\n"
                       "ln -s " + work_.path + "/data/secrets/beta/token other-tenant\n"
                       "ln -s /proc/self/cmdline cmdline\nln -s /proc/1/environ environ\n"
                       "ln greeting.txt hard\nmkfifo pipe\n" + fix_greeting;
  auto t = run(script);
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  auto branch = "aetherium/task-" + t.value("id", "");
  EXPECT_EQ(git("ls-tree " + branch + " shadow").substr(0, 6), "120000");
  EXPECT_EQ(git("cat-file -p " + branch + ":shadow"), "/etc/shadow");
  EXPECT_EQ(git("cat-file -p " + branch + ":cmdline"), "/proc/self/cmdline");
  EXPECT_EQ(git("ls-tree " + branch + " pipe"), "") << "a FIFO is not a file of the change";
  auto all = everything_of(t);
  EXPECT_EQ(all.find(beta_secret), std::string::npos) << "another tenant's secret leaked";
  EXPECT_EQ(all.find(jwt_secret), std::string::npos) << "the server's command line or environment leaked";
  std::ifstream shadow{"/etc/shadow"};
  std::string root_line;
  std::getline(shadow, root_line);
  ASSERT_FALSE(root_line.empty());
  EXPECT_EQ(all.find(root_line), std::string::npos) << "/etc/shadow leaked";
}

TEST_F(attacks, a_huge_or_sparse_file_is_refused_without_growing_the_server) {
  auto t = run("truncate -s 64G sparse\ndd if=/dev/zero of=big bs=1M count=96 2>/dev/null\n" + std::string{fix_greeting},
               json{{"limits", {{"memory_bytes", 512 << 20}}}});
  EXPECT_EQ(t.value("status", ""), "failed");
  EXPECT_EQ(t.value("failure_reason", ""), "budget_exceeded") << t.dump();
  std::ifstream status{"/proc/" + std::to_string(server_->pid()) + "/status"};
  std::string line;
  long peak_kb = 0;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      peak_kb = std::stol(line.substr(6));
  EXPECT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, 200 * 1024) << "the server's peak memory grew with the agent's files";
}

TEST_F(attacks, a_filler_fails_at_the_workspace_disk_limit_and_leaves_the_host_disk_alone) {
  auto t = run("dd if=/dev/zero of=fill bs=1M count=64 2>/dev/null || true\ndf -k . | tail -1\n" + std::string{fix_greeting},
               json{{"limits", {{"disk_bytes", 16 << 20}}}});
  EXPECT_EQ(t.value("status", ""), "failed");
  EXPECT_EQ(t.value("failure_reason", ""), "budget_exceeded") << t.dump();
  EXPECT_NE(events_text(t.value("id", "")).find("disk limit of 16777216 bytes"), std::string::npos);
  auto used = run_command("du -sk '" + work_.path + "/data' | cut -f1").output;
  EXPECT_LT(std::stol(used), 32 * 1024) << "the data directory holds the filler";
}

TEST_F(attacks, tenants_cannot_use_each_others_repositories_nor_odd_transports) {
  auto beta_key = server_->admin_key("beta");
  http::api_client beta{{server_->base_url(), beta_key}};
  auto before = git("for-each-ref");
  auto project = beta.create_project(json{{"name", "stolen"}, {"repo", repo_}}.dump());
  ASSERT_FALSE(project.ok()) << "tenant beta named tenant acme's repository";
  EXPECT_EQ(project.err().code, errc::invalid_argument);
  EXPECT_EQ(project.err().field, "repo");
  EXPECT_EQ(git("for-each-ref"), before) << "tenant beta wrote into tenant acme's repository";
  auto marker = work_.path + "/transport-pwned";
  auto evil = work_.path + "/evil.sh";
  std::ofstream{evil} << "#!/bin/sh\ntouch " << marker << "\n";
  std::filesystem::permissions(evil, std::filesystem::perms::owner_all);
  for (std::string repo : std::vector<std::string>{"fd::0", "ext::" + evil, "git://127.0.0.1/x.git", "https://10.0.0.1/x.git"}) {
    auto p = api_->create_project(json{{"name", "odd" + std::to_string(repo.size())}, {"repo", repo}}.dump());
    ASSERT_FALSE(p.ok()) << repo << " was accepted";
    EXPECT_EQ(p.err().code, errc::invalid_argument) << repo;
    EXPECT_EQ(p.err().field, "repo") << repo;
    auto odd = api_->create_task(json{{"project", project_}, {"agent_type", "script"}, {"prompt", "true"}, {"repo", repo}}.dump());
    ASSERT_FALSE(odd.ok()) << repo << " was accepted for a task";
    EXPECT_EQ(odd.err().field, "repo") << repo;
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(attacks, a_remote_that_never_answers_is_bounded_by_the_deadline_and_by_cancel) {
  silent_listener listener;
  auto where = listener.address();
  ASSERT_FALSE(where.empty());
  ASSERT_NO_FATAL_FAILURE(start_server("AETHERIUM_MAX_TASKS=1 AETHERIUM_REPO_HOSTS=" + where));
  auto p = api_->create_project(json{{"name", "silent"}, {"repo", "https://" + where + "/x.git"}}.dump());
  ASSERT_TRUE(p.ok());
  auto silent = json::parse(*p).at("id");
  auto late = run(fix_greeting, json{{"project", silent}, {"budgets", {{"max_seconds", 3}}}});
  EXPECT_EQ(late.value("status", ""), "failed");
  EXPECT_EQ(late.value("failure_reason", ""), "workspace_error");
  EXPECT_NE(events_text(late.value("id", "")).find("deadline"), std::string::npos);
  auto r = api_->create_task(json{{"project", silent}, {"agent_type", "script"}, {"prompt", "true"}}.dump());
  ASSERT_TRUE(r.ok());
  auto id = json::parse(*r).at("id").get<std::string>();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(api_->request("DELETE", "/v1/tasks/" + id).ok());
  auto cancelled_at = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_terminal(id).value("status", ""), "terminated");
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, std::chrono::seconds(10));
  auto ok = run(fix_greeting);
  EXPECT_EQ(ok.value("status", ""), "completed") << "the slot was not given back";
}

TEST_F(attacks, secrets_copied_into_files_are_redacted_from_every_event_field) {
  auto t = run("cat /run/secrets/token > leak.txt\ncat /run/secrets/token\n" + std::string{fix_greeting},
               json{{"secrets", {"token"}}, {"verify_command", "cat leak.txt; sh check.sh"}});
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  auto id = t.value("id", "");
  auto events = events_text(id);
  EXPECT_NE(events.find("task.verification_passed"), std::string::npos);
  EXPECT_EQ(events.find(acme_secret), std::string::npos) << "a secret value reached the event log";
  EXPECT_NE(events.find("[REDACTED]"), std::string::npos);
  EXPECT_EQ(t.dump().find(acme_secret), std::string::npos);
  EXPECT_EQ(logs_text(id).find(acme_secret), std::string::npos);
}

TEST_F(attacks, an_allowed_name_never_reaches_the_host_through_the_egress_proxy) {
  auto port = server_->base_url().substr(server_->base_url().rfind(':') + 1);
  auto t = run("wget -q -O- http://localhost:" + port + "/healthz 2>&1; echo rc=$?\n"
               "wget -q -O- http://169.254.169.254/latest/meta-data/ 2>&1; echo rc=$?\n" + std::string{fix_greeting},
               json{{"network", {{"allowed_hosts", {"localhost"}}}}});
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  auto log = logs_text(t.value("id", ""));
  EXPECT_EQ(log.find("\\\"status\\\""), std::string::npos) << "the sandbox reached the server's own API:\n" << log;
  EXPECT_NE(log.find("403"), std::string::npos) << log;
  EXPECT_EQ(log.find("rc=0"), std::string::npos) << log;
}

TEST_F(attacks, tenant_ids_that_name_directories_are_refused) {
  for (std::string tenant : {"..", ".", ".hidden"}) {
    auto out = server_->cli("admin create-key --tenant " + tenant + " --role admin --name x --json");
    EXPECT_NE(out.exit_code, 0) << tenant << ": " << out.output;
  }
}

} // namespace
