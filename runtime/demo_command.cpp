// `aetherium demo`: the quick start's main job. Starts the server in-process with the
// embedded defaults, then drives it over its own HTTP API like any client would: a sample
// repository, a project, one task whose script agent edits a file in a real sandbox, the
// shadow verification, and the pull request on the local code host.
#include "runtime/demo_command.hpp"

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "adapters/git/git_adapters.hpp"
#include "adapters/http/client/api_client.hpp"
#include "events/read_model/task_requests.hpp"
#include "runtime/client_commands.hpp"
#include "runtime/commands.hpp"
#include "runtime/server.hpp"

namespace aetherium::runtime {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// A string field of an answer; "" when absent or null.
static std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

namespace {

constexpr const char* demo_tenant = "demo";

const std::map<std::string, std::string> sample_files = {
  {"README.md", "# Sample\n\nA repository the Aetherium demo works on.\n"},
  {"greeting.txt", "Hello, world\n"},
  {"check.sh", "#!/bin/sh\n# The project's verify command: the greeting must name Aetherium.\n"
               "grep -q 'Aetherium' greeting.txt && echo 'check: greeting ok'\n"},
};

// The demo's "agent": a script run in the sandbox as the sandbox user, in /workspace.
constexpr const char* demo_script = R"SH(set -eu
echo "agent: editing greeting.txt in $(pwd) as uid $(id -u)"
sed -i 's/Hello, world/Hello from Aetherium/' greeting.txt
printf '%s\n' '- greeting.txt now names Aetherium' >> CHANGES.md
echo "agent: done"
)SH";

int fail(const std::string& what, const error& err) {
  std::cerr << "aetherium demo: " << what << ": " << to_string(err.code) << ": " << err.detail << "\n";
  return exit_failure;
}

result<std::string> ensure_project(http::api_client& api, const std::string& repo) {
  json body = {{"name", "sample"}, {"repo", repo}, {"default_base_ref", "main"}, {"verify_command", "sh check.sh"}};
  auto created = api.create_project(body.dump());
  if (created)
    return json::parse(*created).at("id").get<std::string>();
  if (created.err().code != errc::conflict)
    return created.err();
  // Made by an earlier run: project ids derive from tenant and name.
  return read_model::project_id_for(tenant_id{demo_tenant}, "sample");
}

void print_events(http::api_client& api, const std::string& task) {
  auto events = api.task_events(task);
  if (!events)
    return;
  std::cout << "\n== event history of task " << task << "\n";
  auto page = json::parse(*events);
  for (auto& e : page.at("events"))
    std::cout << "  #" << e.value("position", 0) << "  v" << e.value("version", 0) << "  " << text(e, "type")
              << "\n";
}

} // namespace

int run_demo(const command_line& cmd, config cfg) {
  if (!cmd.has("listen") && !std::getenv("AETHERIUM_LISTEN"))
    cfg.listen = "127.0.0.1:0";
  auto data = fs::absolute(cfg.data_dir).string();
  auto repo = data + "/repos/demo/sample.git"; // below the server's default --repo-roots
  if (auto ok = create_bare_repository(repo, "main", sample_files); !ok)
    return fail("creating the sample repository", ok.err());
  auto srv = start_server(cfg);
  if (!srv)
    return fail("starting the server", srv.err());
  auto key = (*srv)->issue_key(tenant_id{demo_tenant}, api::role::admin, "demo");
  if (!key)
    return fail("creating an API key", key.err());
  auto base = "http://127.0.0.1:" + std::to_string((*srv)->port());
  std::cout << "== server listening on " << base << " (data in " << data << ")\n";
  http::api_client api{{base, *key}};
  auto project = ensure_project(api, repo);
  if (!project)
    return fail("creating the project", project.err());
  json task_body = {{"project", *project}, {"agent_type", "script"}, {"prompt", demo_script}};
  auto created = api.create_task(task_body.dump());
  if (!created)
    return fail("creating the task", created.err());
  auto task = json::parse(*created).at("id").get<std::string>();
  std::cout << "== task " << task << " requested; its log:\n";
  auto followed = api.follow_task_logs(task, 0, [](const std::string& chunk) {
    std::cout << "  | " << json::parse(chunk).value("text", "") << std::flush;
    return true;
  });
  if (!followed)
    return fail("following the task's log", followed.err());
  auto view = settled_task(api, task);
  if (!view)
    return fail("reading the task", view.err());
  auto t = json::parse(*view);
  std::cout << "\n== task " << task << " is " << t.value("status", "?");
  if (t.contains("failure_reason") && !t["failure_reason"].is_null())
    std::cout << " (" << t["failure_reason"].get<std::string>() << ")";
  std::cout << "\n   pull request: " << text(t, "pr_url") << "\n";
  std::cout << "\n== the commit on branch aetherium/task-" << task << " of " << repo << ":\n" << std::flush;
  auto show = "git --git-dir='" + repo + "' show --stat --patch --format='commit %H%n%n    %s%n' 'aetherium/task-" + task + "'";
  int shown = std::system(show.c_str());
  print_events(api, task);
  std::cout << std::flush;
  (*srv)->stop();
  return text(t, "status") == "completed" && shown == 0 ? exit_ok : exit_failure;
}

} // namespace aetherium::runtime
