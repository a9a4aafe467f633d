// The real agent CLIs end to end: the real server, PostgreSQL, crun sandboxes from the
// agent image, and local stubs of each provider's API behind the model gateway. Each CLI
// edits a file through its own tool; the change is collected, verified in a second
// sandbox and becomes a pull request; usage and cost match what the stub reported; the
// real keys never reach a sandbox; cost budgets stop agents and their follow-ups.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/agents/provider_stub.hpp"
#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

constexpr const char* note = "written by the agent\n";

/// Prices the server is given (cents per million tokens), as the test computes costs.
struct price {
  std::uint64_t in, out;
};
const std::map<std::string, price> prices{{"anthropic", {300, 1500}}, {"openai", {125, 1000}}, {"gemini", {30, 250}}};
constexpr price pricey{100'000'000, 100'000'000}; // anthropic "pricey-*": one call is far past a cent

std::string random_key(const std::string& prefix) {
  std::random_device rd;
  std::string out = prefix;
  for (int i = 0; i < 24; ++i)
    out += "0123456789abcdef"[rd() % 16];
  return out;
}

class agents_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    auto* image = std::getenv("AETHERIUM_TEST_AGENT_IMAGE");
    ASSERT_TRUE(image && *image && std::filesystem::is_directory(image))
      << "AETHERIUM_TEST_AGENT_IMAGE must name the agent image with the CLIs: "
         "export AETHERIUM_TEST_AGENT_IMAGE=$(sh deploy/images/build-agent-rootfs.sh) (deploy/test.sh does)";
    image_ = image;
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    std::string upstreams;
    for (auto& [provider, p] : prices) {
      keys_[provider] = random_key("sk-" + provider + "-real-");
      stubs_[provider] = std::make_unique<provider_stub>(provider, work_.path + "/stubs", keys_[provider]);
      ASSERT_NO_FATAL_FAILURE(stubs_[provider]->start());
      upstreams += (upstreams.empty() ? "" : ",") + provider + "=" + stubs_[provider]->url();
      auto dir = work_.path + "/data/secrets/acme";
      std::filesystem::create_directories(dir);
      std::ofstream{dir + "/" + provider + "_api_key"} << keys_[provider];
    }
    json price_file;
    for (auto& [provider, p] : prices)
      price_file[provider]["*"] = {{"input_cents_per_mtok", p.in}, {"output_cents_per_mtok", p.out}};
    price_file["anthropic"]["pricey-*"] = {{"input_cents_per_mtok", pricey.in}, {"output_cents_per_mtok", pricey.out}};
    std::ofstream{work_.path + "/prices.json"} << price_file.dump();
    server_ = std::make_unique<server_process>(db_.url(), work_.path + "/data", image_,
                                               "AETHERIUM_MODEL_UPSTREAMS='" + upstreams + "' AETHERIUM_MODEL_PRICES='"
                                                 + work_.path + "/prices.json'");
    ASSERT_NO_FATAL_FAILURE(server_->start());
    auto key = server_->admin_key("acme");
    ASSERT_FALSE(key.empty());
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key});
    auto project = api_->create_project(json{{"name", "sample"}, {"repo", repo_},
                                             {"verify_command", "grep -qx 'written by the agent' AGENT_NOTE.md"}}
                                          .dump());
    ASSERT_TRUE(project.ok()) << project.err().detail;
    project_ = json::parse(*project).at("id");
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "server log:\n" << server_->log_tail();
  }

  /// Creates a task and waits for its end.
  json run(json body, int seconds = 600) {
    body["project"] = project_;
    body["limits"] = {{"memory_bytes", 2ull << 30}, {"pids", 1024}};
    if (!body.contains("budgets"))
      body["budgets"] = json::object();
    body["budgets"]["max_seconds"] = 540;
    auto created = api_->create_task(body.dump());
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.err().detail);
    if (!created.ok())
      return {};
    auto id = json::parse(*created).at("id").get<std::string>();
    return wait_for_task(*api_, id, ended, seconds);
  }

  std::string log_of(const json& task) {
    auto logs = api_->task_logs(task.value("id", ""));
    return logs.ok() ? *logs : logs.err().detail;
  }

  /// The task's recorded spend equals what the provider's stub reported, priced as the
  /// server was told.
  void expect_spend_matches_stub(const json& task, const std::string& provider) {
    auto billed = stubs_.at(provider)->billed();
    std::uint64_t in = 0, out = 0, cost = 0;
    for (auto& r : billed) {
      auto i = r["usage"].value("input_tokens", std::uint64_t{0});
      auto o = r["usage"].value("output_tokens", std::uint64_t{0});
      in += i;
      out += o;
      cost += i * prices.at(provider).in + o * prices.at(provider).out;
    }
    auto& spend = task.at("spend");
    EXPECT_GT(billed.size(), 0u) << provider << " saw no model call";
    EXPECT_EQ(spend.value("calls", 0u), billed.size());
    EXPECT_EQ(spend.value("input_tokens", std::uint64_t{0}), in);
    EXPECT_EQ(spend.value("output_tokens", std::uint64_t{0}), out);
    EXPECT_EQ(spend.value("cost_microcents", std::uint64_t{0}), cost);
    EXPECT_EQ(spend.value("unread_calls", 0u), 0u);
  }

  /// The real keys appear nowhere the task's outputs go.
  void expect_no_key_in(const std::string& where, const std::string& text) {
    for (auto& [provider, key] : keys_)
      EXPECT_EQ(text.find(key), std::string::npos) << provider << "'s real key is in " << where;
    EXPECT_EQ(text.find("[REDACTED]"), std::string::npos) << where << " held a secret value (it was redacted)";
  }

  void a_cli_edits_a_file_and_opens_a_pull_request(const std::string& agent, const std::string& provider) {
    auto t = run({{"agent_type", agent}, {"prompt", "Create the file AGENT_NOTE.md that says: written by the agent"}});
    auto log = log_of(t);
    ASSERT_EQ(t.value("status", ""), "completed") << t.dump() << "\nlog:\n" << log;
    EXPECT_FALSE(t.value("pr_url", "").empty()) << t.dump();
    ASSERT_TRUE(t.at("diff").is_object()) << t.dump();
    EXPECT_EQ(t["diff"].value("files_changed", 0), 1) << t.dump();
    auto id = t.at("id").get<std::string>();
    auto file = run_command("git --git-dir='" + repo_ + "' show aetherium/task-" + id + ":AGENT_NOTE.md");
    EXPECT_EQ(file.exit_code, 0) << file.output;
    EXPECT_EQ(file.output, note);
    expect_spend_matches_stub(t, provider);
    for (auto& r : stubs_.at(provider)->requests())
      EXPECT_EQ(r.dump().find(models_placeholder), std::string::npos) << "the placeholder key reached " << provider;
    expect_no_key_in("the task's log", log);
    auto events = api_->task_events(id);
    ASSERT_TRUE(events.ok());
    expect_no_key_in("the task's events", *events);
    EXPECT_NE(events->find("task.model_usage_recorded"), std::string::npos);
  }

  static constexpr const char* models_placeholder = "aetherium-model-gateway";

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, project_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, std::unique_ptr<provider_stub>> stubs_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
};

TEST_F(agents_e2e, claude_code_writes_a_file_with_its_own_tool_and_the_change_becomes_a_pull_request) {
  a_cli_edits_a_file_and_opens_a_pull_request("claude", "anthropic");
}

TEST_F(agents_e2e, gemini_cli_writes_a_file_with_its_own_tool_and_the_change_becomes_a_pull_request) {
  a_cli_edits_a_file_and_opens_a_pull_request("gemini", "gemini");
}

TEST_F(agents_e2e, codex_writes_a_file_with_its_own_tool_and_the_change_becomes_a_pull_request) {
  a_cli_edits_a_file_and_opens_a_pull_request("codex", "openai");
}

TEST_F(agents_e2e, a_claude_follow_up_resumes_its_parents_session) {
  auto parent = run({{"agent_type", "claude"}, {"prompt", "Create the file AGENT_NOTE.md that says: written by the agent"}});
  ASSERT_EQ(parent.value("status", ""), "completed") << parent.dump() << "\n" << log_of(parent);
  auto before = stubs_.at("anthropic")->requests().size();
  auto child = run({{"agent_type", "claude"}, {"prompt", "Now say which file you wrote before"},
                    {"parent_task_id", parent.value("id", "")}});
  auto log = log_of(child);
  EXPECT_TRUE(ended(child)) << child.dump();
  EXPECT_NE(log.find("resumes its session"), std::string::npos) << log;
  auto seen = stubs_.at("anthropic")->requests();
  ASSERT_GT(seen.size(), before) << "the follow-up's agent made no call";
  // The follow-up's first call carries the parent's conversation, then the new prompt.
  auto first = seen[before]["body"].dump();
  EXPECT_NE(first.find("Create the file AGENT_NOTE.md"), std::string::npos) << first.substr(0, 2000);
  EXPECT_NE(first.find("Now say which file you wrote before"), std::string::npos) << first.substr(0, 2000);
}

/// A script agent that looks for the keys everywhere a prompt-injected agent could, and
/// calls the gateway as the CLIs do.
constexpr const char* snoop = R"(set +e
echo "== env"; env
echo "== processes"
for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline 2>/dev/null; echo; tr '\0' '\n' < $p/environ 2>/dev/null; done
echo "== files"
find /run /tmp /workspace/.aetherium "$HOME" -type f -size -256k 2>/dev/null | while read f; do echo "-- $f"; cat "$f"; done
echo "== gateway"
python3 - <<'PY'
import json, os, urllib.request, urllib.error
def call(url, key_header, key, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={key_header: key, "content-type": "application/json",
                                          "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
status, body = call(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", "x-api-key", os.environ["ANTHROPIC_API_KEY"],
                    {"model": "claude-test", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
print("anthropic answered", status)
status, body = call(os.environ["AETHERIUM_MODEL_GATEWAY"] + "/openai/v1/responses", "authorization", "Bearer x",
                    {"model": "gpt-test", "input": "hi"})
print("openai answered", status, body)
PY
printf 'written by the agent\n' > AGENT_NOTE.md
)";

TEST_F(agents_e2e, the_real_key_never_enters_the_sandbox_while_the_gateway_uses_it) {
  auto t = run({{"agent_type", "script"}, {"prompt", snoop}, {"model_providers", {"anthropic"}}});
  auto log = log_of(t);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump() << "\n" << log;
  EXPECT_NE(log.find("ANTHROPIC_API_KEY=aetherium-model-gateway"), std::string::npos) << log;
  EXPECT_NE(log.find("anthropic answered 200"), std::string::npos) << log;
  EXPECT_NE(log.find("openai answered 403"), std::string::npos) << "a provider the task does not name\n" << log;
  EXPECT_NE(log.find("== files"), std::string::npos) << log;
  expect_no_key_in("what the agent could read", log);
  auto events = api_->task_events(t.value("id", ""));
  ASSERT_TRUE(events.ok());
  expect_no_key_in("the task's events", *events);
  expect_no_key_in("the server's log", run_command("cat '" + work_.path + "/data/server.log'").output);
  auto seen = stubs_.at("anthropic")->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["headers"].value("x-api-key", ""), keys_.at("anthropic"));
  EXPECT_TRUE(stubs_.at("openai")->requests().empty());
  EXPECT_EQ(t.at("spend").value("calls", 0), 1);
}

/// Calls the gateway `n` times with model `model`, printing each answer's status.
std::string caller(int n, const std::string& model) {
  return "python3 - <<'PY'\n"
         "import json, os, urllib.request, urllib.error\n"
         "for i in range(" + std::to_string(n) + "):\n"
         "    req = urllib.request.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages',\n"
         "        data=json.dumps({'model': '" + model + "', 'max_tokens': 16, 'messages': [{'role': 'user', 'content': 'hi'}]}).encode(),\n"
         "        headers={'x-api-key': os.environ['ANTHROPIC_API_KEY'], 'content-type': 'application/json'})\n"
         "    try:\n"
         "        print('call', i, urllib.request.urlopen(req, timeout=30).status, flush=True)\n"
         "    except urllib.error.HTTPError as e:\n"
         "        print('call', i, e.code, e.read().decode(), flush=True)\n"
         "PY\n"
         "echo changed > budget.txt\n";
}

TEST_F(agents_e2e, a_cost_budget_stops_the_agent_and_its_tree_and_the_spend_is_in_the_view) {
  auto t = run({{"agent_type", "script"}, {"prompt", caller(5, "pricey-1")}, {"model_providers", {"anthropic"}},
                {"budgets", {{"max_cost_cents", 5}}}});
  auto log = log_of(t);
  EXPECT_EQ(t.value("status", ""), "failed") << t.dump() << "\n" << log;
  EXPECT_EQ(t.value("failure_reason", ""), "budget_exceeded") << t.dump();
  EXPECT_NE(t.value("failure_detail", "").find("cost budget"), std::string::npos) << t.dump();
  // One call at these prices is far past 5 cents: it is answered, nothing after it reaches the provider.
  auto billed = stubs_.at("anthropic")->billed();
  ASSERT_EQ(billed.size(), 1u) << log;
  auto i = billed[0]["usage"].value("input_tokens", std::uint64_t{0});
  auto o = billed[0]["usage"].value("output_tokens", std::uint64_t{0});
  EXPECT_EQ(t.at("spend").value("calls", 0), 1);
  EXPECT_EQ(t.at("spend").value("cost_microcents", std::uint64_t{0}), i * pricey.in + o * pricey.out);
  EXPECT_EQ(t.at("spend").value("cost_cents", std::uint64_t{0}), (i * pricey.in + o * pricey.out + 999'999) / 1'000'000);
  EXPECT_EQ(t.at("diff"), nullptr) << "a stopped agent's work is not collected";

  // A follow-up in the same tree finds the budget spent before its agent starts.
  auto child = run({{"agent_type", "script"}, {"prompt", caller(1, "claude-test")}, {"model_providers", {"anthropic"}},
                    {"budgets", {{"max_cost_cents", 5}}}, {"parent_task_id", t.value("id", "")}});
  EXPECT_EQ(child.value("status", ""), "failed") << child.dump();
  EXPECT_EQ(child.value("failure_reason", ""), "budget_exceeded") << child.dump();
  EXPECT_NE(child.value("failure_detail", "").find("tree has spent"), std::string::npos) << child.dump();
  EXPECT_EQ(stubs_.at("anthropic")->billed().size(), 1u) << "the follow-up reached the provider";

  // Replay from the log rebuilds the same spend.
  auto verified = server_->cli("replay --verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(agents_e2e, a_task_may_not_mount_a_provider_key_as_a_secret) {
  auto r = api_->request("POST", "/v1/tasks",
                         json{{"project", project_}, {"agent_type", "script"}, {"prompt", "env"},
                              {"secrets", {"anthropic_api_key"}}}
                           .dump(),
                         {{"Content-Type", "application/json"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("model gateway"), std::string::npos) << r->body;
  auto bad = api_->request("POST", "/v1/tasks",
                           json{{"project", project_}, {"agent_type", "script"}, {"prompt", "env"},
                                {"model_providers", {"mistral"}}}
                             .dump(),
                           {{"Content-Type", "application/json"}});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
}

} // namespace
