// End to end, with real parts only: the aetherium binary, PostgreSQL, crun, git, and
// (when the test command started one) Kafka. A task goes in through the HTTP API and comes
// out as a verified commit on a pull-request branch of a local bare repository.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/hmac.h>

#include "adapters/postgres/postgres_event_store.hpp"
#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/github_stub/github_stub.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &n);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i)
    out += {hex[mac[i] >> 4], hex[mac[i] & 15]};
  return out;
}

std::string base64_decode(const std::string& in) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : in) {
    auto at = alphabet.find(c);
    if (at == std::string::npos)
      continue;
    value = (value << 6) | static_cast<unsigned>(at);
    if ((bits += 6) >= 8)
      out += static_cast<char>((value >> (bits -= 8)) & 0xFF);
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

class e2e : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    auto* brokers = std::getenv("AETHERIUM_TEST_KAFKA_BROKERS");
    std::string env = brokers && *brokers ? std::string{"AETHERIUM_KAFKA_BROKERS="} + brokers : "";
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_, env);
    ASSERT_NO_FATAL_FAILURE(server_->start());
    key_ = server_->admin_key("acme");
    ASSERT_FALSE(key_.empty());
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
    auto project = api_->create_project(json{{"name", "sample"}, {"repo", repo_}, {"verify_command", "sh check.sh"}}.dump());
    ASSERT_TRUE(project.ok()) << project.err().detail;
    project_ = json::parse(*project).at("id");
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  std::string create_task(json body) {
    body["project"] = project_;
    if (!body.contains("agent_type"))
      body["agent_type"] = "script";
    auto r = api_->create_task(body.dump());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r.ok() ? json::parse(*r).at("id").get<std::string>() : "";
  }

  /// Polls the task until `done` holds for it, for at most 120 s.
  json wait_for(const std::string& id, const std::function<bool(const json&)>& done, int seconds = 120) {
    return wait_for_task(*api_, id, done, seconds);
  }
  json wait_terminal(const std::string& id) { return wait_for_task(*api_, id, ended); }

  std::vector<std::string> event_types(const std::string& id) { return task_event_types(*api_, id); }

  std::string git(const std::string& args) {
    return run_command("git --git-dir='" + repo_ + "' " + args).output;
  }

  std::string failure_of(const json& t) { return t.value("failure_reason", std::string{}); }

  /// Polls /metrics (sampled every 2 s by the server) until it holds every line of `lines`,
  /// for at most 30 s; fails with the last text seen.
  void wait_for_metrics(const std::vector<std::string>& lines) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = api_->request("GET", "/metrics");
      text = r ? r->body : "";
      if (std::all_of(lines.begin(), lines.end(), [&](auto& l) { return text.find("\n" + l + "\n") != std::string::npos; }))
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    for (auto& l : lines)
      EXPECT_NE(text.find("\n" + l + "\n"), std::string::npos) << l;
    ADD_FAILURE() << "/metrics:\n" << text;
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, key_, project_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

constexpr const char* edit_script = "set -e\nsed -i 's/Hello, world/Hello from Aetherium/' greeting.txt\n"
                                    "echo 'agent: done'\n";

TEST_F(e2e, a_task_becomes_a_verified_commit_and_a_comment_runs_a_follow_up_on_the_same_branch) {
  auto id = create_task({{"prompt", edit_script}, {"limits", {{"memory_bytes", 268435456}}}});
  auto t = wait_terminal(id);
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  EXPECT_FALSE(t.value("pr_url", "").empty());
  EXPECT_EQ(t.at("diff").value("files_changed", 0), 1);
  EXPECT_EQ(event_types(id), (std::vector<std::string>{"task.requested", "task.scheduled", "task.sandbox_provisioned",
                                                       "task.started", "task.output_collected",
                                                       "task.verification_passed", "task.pr_opened", "task.completed"}));
  auto branch = "aetherium/task-" + id;
  EXPECT_EQ(git("show '" + branch + ":greeting.txt'"), "Hello from Aetherium\n");
  EXPECT_EQ(git("show main:greeting.txt"), "Hello, world\n");
  auto logs = api_->task_logs(id);
  ASSERT_TRUE(logs.ok());
  EXPECT_NE(logs->find("agent: done"), std::string::npos) << *logs;

  // A signed /aetherium run comment on that pull request starts a follow-up.
  auto payload = json::parse(std::ifstream{AETHERIUM_SOURCE_DIR "/tests/support/github_stub/fixtures/webhooks/issue_comment.created.json"});
  payload["repository"]["full_name"] = repo_;
  payload["issue"]["number"] = std::stoll(t.value("pr_url", "").substr(t.value("pr_url", "").rfind('/') + 1));
  // As GitHub's web editor sends it: CRLF line ends.
  payload["comment"]["body"] =
    "/aetherium run echo 'follow-up line' >> greeting.txt\r\ncp .aetherium/conversation.md conversation.md\r\necho done\r\n";
  payload["comment"]["author_association"] = "OWNER";
  auto body = payload.dump();
  auto sig = "sha256=" + hmac_hex(server_process::webhook_secret(), body);
  auto hook = api_->request("POST", "/v1/webhooks/github", body,
                            {{"X-GitHub-Event", "issue_comment"}, {"X-GitHub-Delivery", "e2e-1"},
                             {"X-Hub-Signature-256", sig}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(hook.ok());
  ASSERT_LT(hook->status, 300) << hook->body;
  auto listed = json::parse(*api_->list_tasks({}));
  ASSERT_EQ(listed.at("tasks").size(), 2u) << listed.dump();
  auto follow = listed["tasks"][0];
  EXPECT_EQ(follow.value("parent_task_id", ""), id);
  auto f = wait_terminal(follow.at("id"));
  ASSERT_EQ(f.value("status", ""), "completed") << f.dump();
  auto types = event_types(follow.at("id"));
  EXPECT_NE(std::find(types.begin(), types.end(), "task.pr_updated"), types.end());
  EXPECT_EQ(git("show '" + branch + ":greeting.txt'"), "Hello from Aetherium\nfollow-up line\n");
  EXPECT_EQ(git("rev-list --count main.." + branch), "2\n");
  EXPECT_EQ(git("ls-tree --name-only " + branch), "check.sh\nconversation.md\ngreeting.txt\n") << "no file name with a \\r";
  // The follow-up works as its parent was allowed to, and read the pull request's conversation.
  EXPECT_EQ(f.at("limits").value("memory_bytes", 0), 268435456) << f.dump();
  auto conversation = git("show '" + branch + ":conversation.md'");
  EXPECT_NE(conversation.find("# Aetherium: script task " + id), std::string::npos) << conversation;
  EXPECT_NE(conversation.find("Task: " + id), std::string::npos) << conversation;
  // The pull request is told that the follow-up started and how it ended, once each.
  auto comments = repo_ + "/aetherium/pulls/1.comments/";
  for (int i = 0; i < 300 && !std::filesystem::exists(comments + "2"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(run_command("cat '" + comments + "1'").output.find("started"), std::string::npos);
  EXPECT_NE(run_command("cat '" + comments + "2'").output.find("completed"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(comments + "3")) << "a comment was written twice";
  auto record = run_command("sed -n 2p '" + repo_ + "/aetherium/pulls/1'").output;
  EXPECT_EQ(record, "base: main\n") << "the pull request keeps the base it was opened against";

  // The same delivery again changes nothing.
  auto again = api_->request("POST", "/v1/webhooks/github", body,
                             {{"X-GitHub-Event", "issue_comment"}, {"X-GitHub-Delivery", "e2e-1"},
                              {"X-Hub-Signature-256", sig}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 202) << again->body;
  EXPECT_EQ(json::parse(*api_->list_tasks({})).at("tasks").size(), 2u);

  // And after a restart, when the dedupe of delivery ids is gone: accepted, nothing new.
  server_->kill(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto after_restart = api_->request("POST", "/v1/webhooks/github", body,
                                     {{"X-GitHub-Event", "issue_comment"}, {"X-GitHub-Delivery", "e2e-1"},
                                      {"X-Hub-Signature-256", sig}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(after_restart.ok());
  EXPECT_EQ(after_restart->status, 202) << after_restart->body;
  EXPECT_EQ(json::parse(*api_->list_tasks({})).at("tasks").size(), 2u);

  auto replay = server_->cli("replay --verify");
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("projections match every task's own stream"), std::string::npos) << replay.output;
  EXPECT_NE(replay.output.find("hash chain intact"), std::string::npos) << replay.output;
  if (auto* brokers = std::getenv("AETHERIUM_TEST_KAFKA_BROKERS"); brokers && *brokers) {
    // Kafka is a projection of the log: every event of the task reaches aetherium.task.
    // Delivery is asynchronous: poll until all 8 events of the first task are there.
    auto count = [&] {
      auto out = run_command(std::string{"kcat -b "} + brokers + " -C -t aetherium.task -o beginning -e -q -f '%k\\n'"
                             " | grep -cx 'task-" + id + "'").output;
      return std::atoi(out.c_str());
    };
    int seen = 0;
    for (int i = 0; i < 50 && (seen = count()) < 8; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(seen, 8);
  }
}

TEST_F(e2e, on_github_a_task_opens_a_pull_request_and_a_signed_comment_updates_it) {
  // GitHub is the REST stub plus, for git's side (clone and fetch), a bare repository that
  // git reaches through url.<base>.insteadOf, as it would reach a mirror.
  github_stub stub;
  ASSERT_TRUE(stub.running()) << stub.error();
  std::string hub = work_.path + "/hub", remote = hub + "/acme/widgets.git";
  auto cloned = run_command("mkdir -p '" + hub + "/acme' && git clone -q --bare '" + repo_ + "' '" + remote + "'");
  ASSERT_EQ(cloned.exit_code, 0) << cloned.output;
  auto base = trimmed(run_command("git --git-dir='" + remote + "' rev-parse main").output);
  std::map<std::string, std::string> files;
  for (auto path : {"greeting.txt", "check.sh"})
    files[path] = run_command("git --git-dir='" + remote + "' show main:" + path).output;
  ASSERT_EQ(stub.seed_repo("acme/widgets", files, "main", base), base);
  server_->kill(SIGKILL);
  server_ = std::make_unique<server_process>(
    db_.url(), work_.path + "/data", image_,
    "AETHERIUM_GITHUB_TOKEN=test-token AETHERIUM_GITHUB_API=" + stub.base_url() + " GIT_CONFIG_COUNT=1"
      " GIT_CONFIG_KEY_0=url.file://" + hub + "/.insteadOf GIT_CONFIG_VALUE_0=https://github.com/");
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto project = api_->create_project(
    json{{"name", "widgets"}, {"repo", "https://github.com/acme/widgets.git"}, {"verify_command", "sh check.sh"}}.dump());
  ASSERT_TRUE(project.ok()) << project.err().detail;
  auto created = api_->create_task(json{{"project", json::parse(*project).at("id")}, {"agent_type", "script"},
                                        {"prompt", edit_script}}.dump());
  ASSERT_TRUE(created.ok()) << created.err().detail;
  std::string id = json::parse(*created).at("id");

  auto t = wait_terminal(id);
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  ASSERT_TRUE(t["pr_url"].is_string()) << t.dump();
  EXPECT_EQ(t.value("pr_url", ""), stub.base_url() + "/acme/widgets/pull/1");
  auto branch = "aetherium/task-" + id;
  auto head = stub.state("acme/widgets", "refs/heads/" + branch);
  ASSERT_FALSE(head.is_null()) << "no branch " << branch << " on the stub";
  EXPECT_EQ(head.at("parents"), json::array({base}));
  EXPECT_EQ(base64_decode(head.at("files").at("greeting.txt").at("content_base64")), "Hello from Aetherium\n");
  EXPECT_EQ(base64_decode(head.at("files").at("check.sh").at("content_base64")), files["check.sh"]);
  auto pulls = stub.pulls("acme/widgets").at("pulls");
  ASSERT_EQ(pulls.size(), 1u) << pulls.dump();
  EXPECT_EQ(pulls[0].value("head", ""), branch);
  EXPECT_EQ(pulls[0].value("base", ""), "main");
  EXPECT_NE(pulls[0].value("body", "").find("Verification: passed (`sh check.sh`)"), std::string::npos) << pulls[0].dump();

  // What the API wrote is what GitHub's git side serves next: put the branch on the mirror.
  auto mirrored = run_command("set -e; d='" + work_.path + "/mirror'; git clone -q '" + remote + "' \"$d\"; cd \"$d\";"
                              "git checkout -q -b '" + branch + "'; printf 'Hello from Aetherium\\n' > greeting.txt;"
                              "git -c user.name=t -c user.email=t@e commit -qam mirror; git push -q origin '" + branch + "'");
  ASSERT_EQ(mirrored.exit_code, 0) << mirrored.output;

  auto payload = json::parse(std::ifstream{AETHERIUM_SOURCE_DIR "/tests/support/github_stub/fixtures/webhooks/issue_comment.created.json"});
  payload["repository"]["full_name"] = "acme/widgets";
  payload["issue"]["number"] = 1;
  payload["comment"]["body"] = "/aetherium run echo 'follow-up line' >> greeting.txt";
  payload["comment"]["author_association"] = "OWNER";
  auto body = payload.dump();
  auto hook = api_->request("POST", "/v1/webhooks/github", body,
                            {{"X-GitHub-Event", "issue_comment"}, {"X-GitHub-Delivery", "e2e-gh-1"},
                             {"X-Hub-Signature-256", "sha256=" + hmac_hex(server_process::webhook_secret(), body)},
                             {"Content-Type", "application/json"}});
  ASSERT_TRUE(hook.ok());
  ASSERT_LT(hook->status, 300) << hook->body;
  auto listed = json::parse(*api_->list_tasks({}));
  std::string follow;
  for (auto& task : listed.at("tasks"))
    if (task.at("parent_task_id") == json(id))
      follow = task.at("id");
  ASSERT_FALSE(follow.empty()) << listed.dump();
  auto f = wait_terminal(follow);
  ASSERT_EQ(f.value("status", ""), "completed") << f.dump();
  EXPECT_EQ(f.value("pr_url", ""), t.value("pr_url", ""));
  auto types = event_types(follow);
  EXPECT_NE(std::find(types.begin(), types.end(), "task.pr_updated"), types.end());
  auto updated = stub.state("acme/widgets", "refs/heads/" + branch);
  EXPECT_EQ(updated.at("parents"), json::array({head.at("sha")})) << "the follow-up commit goes on top of the first";
  EXPECT_EQ(base64_decode(updated.at("files").at("greeting.txt").at("content_base64")),
            "Hello from Aetherium\nfollow-up line\n");
  EXPECT_EQ(stub.pulls("acme/widgets").at("pulls").size(), 1u) << "the same pull request, updated";
  EXPECT_FALSE(stub.requests_of("pulls/update").empty());
  auto replay = server_->cli("replay --verify");
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  for (auto& p : stub.problems())
    ADD_FAILURE() << "GitHub protocol problem: " << p;
}

TEST_F(e2e, a_crashing_agent_a_timeout_a_cancel_and_a_failed_verification_each_end_with_their_reason) {
  auto crash = create_task({{"prompt", "echo dying >&2; exit 3"}});
  auto timeout = create_task({{"prompt", "sleep 60"}, {"budgets", {{"max_seconds", 2}}}});
  auto cancel = create_task({{"prompt", "sleep 60"}});
  auto unverified = create_task({{"prompt", "echo changed > other.txt"}, {"verify_command", "exit 1"}});
  auto chatty = create_task({{"prompt", "i=0; while [ $i -lt 5000 ]; do echo 'a line of agent output'; i=$((i+1)); done"},
                             {"budgets", {{"max_log_bytes", 4096}}}});
  auto c = wait_terminal(crash);
  EXPECT_EQ(c.value("status", ""), "failed");
  EXPECT_EQ(failure_of(c), "agent_failed");
  wait_for(cancel, [](const json& t) { return t.value("status", "") == "running"; });
  wait_for_metrics({"aetherium_tasks{state=\"running\"} 1", "aetherium_sandboxes_live 1"});
  auto cancelled = api_->cancel_task(cancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.err().detail;
  EXPECT_EQ(json::parse(*cancelled).value("status", ""), "cancel_requested");
  EXPECT_EQ(wait_terminal(cancel).value("status", ""), "terminated");
  auto again = api_->cancel_task(cancel);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::invalid_transition);
  auto o = wait_terminal(timeout);
  EXPECT_EQ(failure_of(o), "timeout") << o.dump();
  auto v = wait_terminal(unverified);
  EXPECT_EQ(failure_of(v), "verification_failed") << v.dump();
  auto types = event_types(unverified);
  EXPECT_NE(std::find(types.begin(), types.end(), "task.verification_failed"), types.end());
  auto l = wait_terminal(chatty);
  EXPECT_EQ(failure_of(l), "budget_exceeded") << l.dump();
  EXPECT_EQ(l.at("budgets").value("max_log_bytes", 0), 4096);
  EXPECT_EQ(git("branch --list 'aetherium/*'"), "") << "no pull request for a task that failed";
  wait_for_metrics({"aetherium_tasks{state=\"failed\"} 4", "aetherium_tasks{state=\"terminated\"} 1",
                    "aetherium_tasks{state=\"running\"} 0", "aetherium_sandboxes_live 0"});
  auto m = api_->request("GET", "/metrics");
  ASSERT_TRUE(m.ok());
  auto at = m->body.find("\naetherium_event_append_seconds_count ");
  ASSERT_NE(at, std::string::npos) << m->body;
  EXPECT_GE(std::atof(m->body.c_str() + at + 38), 16.0) << "every command appended and was timed";
}

TEST_F(e2e, a_runtime_no_node_offers_is_refused_at_once_and_the_node_reports_what_it_measured) {
  auto r = api_->create_task(json{{"project", project_}, {"agent_type", "script"}, {"prompt", "true"},
                                  {"runtime", "microvm"}}.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_NE(r.err().detail.find("no node offers runtime microvm; offered: crun"), std::string::npos) << r.err().detail;
  auto nodes = api_->list_nodes();
  ASSERT_TRUE(nodes.ok());
  auto node = json::parse(*nodes).at("nodes").at(0);
  std::ifstream meminfo{"/proc/meminfo"};
  std::string key;
  std::uint64_t kib = 0;
  meminfo >> key >> kib;
  EXPECT_EQ(node.at("memory_bytes").get<std::uint64_t>(), kib * 1024) << node.dump();
  auto runtimes = node.at("runtimes").dump();
  EXPECT_NE(runtimes.find("crun"), std::string::npos) << runtimes;
  EXPECT_EQ(runtimes.find("microvm"), std::string::npos) << runtimes;
}

TEST_F(e2e, with_a_microvm_kernel_the_node_offers_microvm_and_a_task_runs_and_verifies_in_microvms) {
  const char* kernel = std::getenv("AETHERIUM_TEST_MICROVM_KERNEL");
  ASSERT_TRUE(kernel && *kernel) << "AETHERIUM_TEST_MICROVM_KERNEL is not set (deploy/test.sh sets it)";
  server_->kill(SIGKILL);
  auto* brokers = std::getenv("AETHERIUM_TEST_KAFKA_BROKERS");
  std::string env = brokers && *brokers ? std::string{"AETHERIUM_KAFKA_BROKERS="} + brokers : "";
  server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_,
                                             env + " AETHERIUM_MICROVM_KERNEL='" + kernel + "'");
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto nodes = api_->list_nodes();
  ASSERT_TRUE(nodes.ok());
  auto runtimes = json::parse(*nodes).at("nodes").at(0).at("runtimes").dump();
  EXPECT_NE(runtimes.find("microvm"), std::string::npos) << "a VM started at server start: " << runtimes;

  auto id = create_task({{"prompt", std::string(edit_script) + "uname -r\n"}, {"runtime", "microvm"}});
  auto t = wait_terminal(id);
  ASSERT_EQ(t.value("status", ""), "completed") << t.dump();
  EXPECT_EQ(t.value("runtime", ""), "microvm");
  EXPECT_EQ(event_types(id), (std::vector<std::string>{"task.requested", "task.scheduled", "task.sandbox_provisioned",
                                                       "task.started", "task.output_collected",
                                                       "task.verification_passed", "task.pr_opened", "task.completed"}));
  EXPECT_EQ(git("show 'aetherium/task-" + id + ":greeting.txt'"), "Hello from Aetherium\n");
  auto logs = api_->task_logs(id);
  ASSERT_TRUE(logs.ok());
  EXPECT_NE(logs->find("(microvm)"), std::string::npos) << *logs;
  EXPECT_NE(logs->find("-cloud-amd64"), std::string::npos) << "the agent ran under the guest kernel: " << *logs;
  // Verification ran in a fresh VM and nothing is left of either.
  auto left = run_command("ls '" + work_.path + "/data/microvms/vms' | wc -l").output;
  EXPECT_EQ(trimmed(left), "0");
}

TEST_F(e2e, a_project_or_task_naming_a_repository_outside_the_repo_roots_is_refused_with_400) {
  // The server takes local repositories only below --repo-roots (here: the test's work
  // directory); anything else on the host is refused when it is named, not when a task runs.
  auto outside = temp_dir{};
  auto made = run_command("git clone -q --bare '" + repo_ + "' '" + outside.path + "/secret.git'");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto project = api_->create_project(json{{"name", "elsewhere"}, {"repo", outside.path + "/secret.git"}}.dump());
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(project.err().code, errc::invalid_argument);
  EXPECT_EQ(project.err().field, "repo");
  EXPECT_NE(project.err().detail.find("outside the tenant's repository roots"), std::string::npos) << project.err().detail;
  auto task = api_->create_task(json{{"project", project_}, {"agent_type", "script"}, {"prompt", "cat greeting.txt"},
                                     {"repo", outside.path + "/secret.git"}}.dump());
  ASSERT_FALSE(task.ok());
  EXPECT_EQ(task.err().code, errc::invalid_argument);
  EXPECT_EQ(task.err().field, "repo");
  EXPECT_EQ(json::parse(*api_->list_tasks({})).at("tasks").size(), 0u) << "no task was accepted";
}

TEST_F(e2e, with_warm_sandboxes_the_server_keeps_one_created_and_its_tasks_still_complete) {
  server_->kill(SIGKILL);
  server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_, "AETHERIUM_WARM_SANDBOXES=1");
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto first = create_task({{"prompt", edit_script}});
  ASSERT_EQ(wait_terminal(first).value("status", ""), "completed");
  // The pool keeps a container created, not started, for the shape the task's sandboxes had.
  auto states = [&] {
    return run_command("crun --root '" + work_.path + "/data/sandboxes/runtime/crun' list | awk 'NR > 1 {print $3}'").output;
  };
  std::string seen;
  for (int i = 0; i < 100 && (seen = states()) != "created\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(seen, "created\n") << "one warm sandbox and nothing else";
  auto second = create_task({{"prompt", edit_script}});
  auto t = wait_terminal(second);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
  wait_for_metrics({"aetherium_sandboxes_live 0"});
}

TEST_F(e2e, a_requests_id_correlates_every_event_of_the_task_it_creates_and_log_lines_are_json) {
  auto created = api_->request("POST", "/v1/tasks",
                               json{{"project", project_}, {"agent_type", "script"}, {"prompt", edit_script}}.dump(),
                               {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + key_},
                                {"X-Request-Id", "e2e-request-1"}});
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 202) << created->body;
  EXPECT_EQ(created->header("x-request-id"), "e2e-request-1");
  auto id = json::parse(created->body).at("id").get<std::string>();
  EXPECT_EQ(wait_terminal(id).value("status", ""), "completed");
  auto store = make_postgres_event_store(db_.url());
  ASSERT_TRUE(store.ok()) << store.err().detail;
  auto events = (*store)->read_stream(stream_id{"task-" + id});
  ASSERT_TRUE(events.ok()) << events.err().detail;
  ASSERT_GT(events->size(), 3u);
  EXPECT_EQ(events->front().type, "task.requested");
  for (auto& e : *events) {
    EXPECT_EQ(e.metadata.correlation_id, "e2e-request-1") << e.type;
    if (e.metadata.principal.rfind("node:", 0) == 0) {
      EXPECT_FALSE(e.metadata.causation_id.empty()) << e.type << ": a run step names the command that caused it";
    }
  }
  std::istringstream log{server_->log_tail()};
  for (std::string line; std::getline(log, line);) {
    if (line.empty() || line[0] != '{')
      continue;
    auto parsed = json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not one JSON object: " << line;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("msg")) << line;
  }
}

TEST_F(e2e, a_tenant_at_its_live_task_quota_gets_429_until_a_task_ends) {
  server_->kill(SIGKILL);
  server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_, "AETHERIUM_TENANT_MAX_TASKS=1");
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto first = create_task({{"prompt", "sleep 60"}});
  auto refused = api_->request("POST", "/v1/tasks", json{{"project", project_}, {"agent_type", "script"}, {"prompt", "true"}}.dump(),
                               {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + key_}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_FALSE(refused->header("retry-after").empty());
  ASSERT_TRUE(api_->cancel_task(first).ok());
  EXPECT_EQ(wait_terminal(first).value("status", ""), "terminated");
  EXPECT_FALSE(create_task({{"prompt", "true"}}).empty());
}

TEST_F(e2e, sigterm_stops_the_server_within_10_s_recording_why_and_leaving_no_sandbox) {
  server_->kill(SIGKILL);
  server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_,
                                             "AETHERIUM_WARM_SANDBOXES=1 AETHERIUM_MAX_TASKS=1");
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto running = create_task({{"prompt", "sleep 60"}});
  wait_for(running, [](const json& t) { return t.value("status", "") == "running"; });
  auto waiting = create_task({{"prompt", edit_script}}); // no slot: waits to be placed
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto asked = std::chrono::steady_clock::now();
  server_->kill(SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10)) << "SIGTERM took too long";
  auto left = run_command("crun --root '" + work_.path + "/data/sandboxes/runtime/crun' list -q | wc -l");
  EXPECT_EQ(left.output, "0\n") << "sandboxes (the warm pool's included) outlived the server";
  EXPECT_NE(server_->log_tail().find("aetherium server stopped"), std::string::npos) << server_->log_tail();
  server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_);
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto t = wait_terminal(running);
  EXPECT_EQ(failure_of(t), "control_plane_restart");
  auto events = api_->task_events(running);
  ASSERT_TRUE(events.ok());
  EXPECT_NE(events->find("the server was stopped while the task was running"), std::string::npos) << *events;
  EXPECT_EQ(wait_terminal(waiting).value("status", ""), "completed") << "a task not yet placed runs at the next start";
}

TEST_F(e2e, a_server_killed_mid_task_reaps_the_sandbox_and_fails_the_task_after_restart) {
  auto id = create_task({{"prompt", "sleep 60"}});
  wait_for(id, [](const json& t) { return t.value("status", "") == "running"; });
  server_->kill(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(server_->start());
  api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  auto t = wait_terminal(id);
  EXPECT_EQ(t.value("status", ""), "failed");
  EXPECT_EQ(failure_of(t), "control_plane_restart");
  auto left = run_command("crun --root '" + work_.path + "/data/sandboxes/runtime/crun' list -q | wc -l");
  EXPECT_EQ(left.output, "0\n") << "sandboxes left behind";
  auto replay = server_->cli("replay --verify");
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  // The log survived the crash, and the API still serves it.
  auto events = event_types(id);
  EXPECT_EQ(events.front(), "task.requested");
  EXPECT_EQ(events.back(), "task.failed");
}

TEST_F(e2e, a_kill_during_verification_and_one_while_a_task_waits_for_room_lose_nothing) {
  // One slot: a task verifying holds it, the next waits at `requested`.
  auto restart = [&] {
    server_->kill(SIGKILL);
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_, "AETHERIUM_MAX_TASKS=1");
    ASSERT_NO_FATAL_FAILURE(server_->start());
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key_});
  };
  ASSERT_NO_FATAL_FAILURE(restart());
  auto done = create_task({{"prompt", edit_script}});
  ASSERT_EQ(wait_terminal(done).value("status", ""), "completed");
  auto done_before = api_->get_task(done);
  auto done_events_before = api_->task_events(done);
  ASSERT_TRUE(done_before.ok() && done_events_before.ok());
  // Its verification passes only once the clock reaches `ready`: the kill comes first.
  auto ready = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 20;
  auto verifying = create_task({{"prompt", "echo more > more.txt"},
                                {"verify_command", "while [ $(date +%s) -lt " + std::to_string(ready) + " ]; do sleep 0.2; done"}});
  wait_for(verifying, [](const json& t) { return t.value("status", "") == "output_collected"; });
  auto waiting = create_task({{"prompt", "echo later > later.txt"}, {"verify_command", "true"}});
  auto w = api_->get_task(waiting);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(json::parse(*w).value("status", ""), "requested") << "the only slot is taken";
  // What a kill leaves of a task that had ended: its workspace and scratch clone.
  auto orphan = "aetherium/task-" + verifying;
  auto workspaces = work_.path + "/data/workspaces/";
  for (auto left : {done, done + ".git", done + "-verify", done + "-verify.git", std::string{"not-a-task"}})
    std::filesystem::create_directories(workspaces + left + "/sub");

  ASSERT_NO_FATAL_FAILURE(restart());
  auto v = wait_terminal(verifying);
  EXPECT_EQ(v.value("status", ""), "completed") << "the stored output was not resumed: " << v.dump();
  auto types = event_types(verifying);
  EXPECT_EQ(types, (std::vector<std::string>{"task.requested", "task.scheduled", "task.sandbox_provisioned",
                                              "task.started", "task.output_collected", "task.verification_passed",
                                              "task.pr_opened", "task.completed"}))
    << "a half-run verification is run again from the start, and nothing is recorded twice";
  EXPECT_EQ(git("rev-list --count main.." + orphan), "1\n") << "one commit, pushed once";
  EXPECT_EQ(git("show '" + orphan + ":more.txt'"), "more\n");
  EXPECT_EQ(git("branch --list 'aetherium/task-" + done + "'"), "  aetherium/task-" + done + "\n")
      << "a branch with a pull request stays";
  for (int i = 0; i < 100 && std::filesystem::exists(workspaces + done + ".git"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto left : {done, done + ".git", done + "-verify", done + "-verify.git"})
    EXPECT_FALSE(std::filesystem::exists(workspaces + left)) << left << " of a finished task was left behind";
  EXPECT_TRUE(std::filesystem::exists(workspaces + "not-a-task")) << "what belongs to no known task stays";
  auto resumed = wait_terminal(waiting);
  EXPECT_EQ(resumed.value("status", ""), "completed") << "a task that had not started runs after the restart";
  EXPECT_FALSE(resumed.value("pr_url", "").empty());
  // What was finished before the crash reads exactly as it did.
  EXPECT_EQ(json::parse(*api_->get_task(done)), json::parse(*done_before));
  EXPECT_EQ(json::parse(*api_->task_events(done)), json::parse(*done_events_before));
  auto left = run_command("crun --root '" + work_.path + "/data/sandboxes/runtime/crun' list -q | wc -l");
  EXPECT_EQ(left.output, "0\n") << "sandboxes left behind";
  auto replay = server_->cli("replay --verify");
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
}

} // namespace
