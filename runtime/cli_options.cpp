// Which options each command takes, so a misspelled one is an error instead of silently
// ignored, and the per-command help that lists them.
#include "runtime/cli_options.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace aetherium::runtime {

namespace {

using option_set = std::set<std::string>;

/// Every setting of config.hpp, taken by every command, and --help.
const option_set settings = {
  "listen",  "database-url", "kafka-brokers", "data-dir",   "runtime",    "github-token",
  "github-api", "github-webhook-secret", "jwt-secret", "image", "max-tasks", "tenant-max-tasks",
  "warm-sandboxes", "checkpoint-every", "repo-roots", "repo-hosts", "repo-ssh", "rate-limit", "rate-burst",
  "egress-allow-private", "notify-allow-loopback", "notify-max-attempts", "notify-retry-delay-ms",
  "notify-retry-max-delay-ms", "model-upstream", "model-prices", "microvm-kernel", "microvm-accel", "placement", "node-listen",
  "node-timeout", "node-tls-cert", "node-tls-key", "node-ca", "help"};

/// Options of the commands that talk to the HTTP API.
const option_set client = {"server", "token", "json"};

struct command_options {
  bool is_client = false;
  option_set own;
};

/// Keyed by "verb" or "verb subcommand"; the longer key wins.
const std::map<std::string, command_options>& commands() {
  static const std::map<std::string, command_options> table = {
    {"server", {}},
    {"node", {false, {"join", "token", "name", "drain-timeout"}}},
    {"node list", {true, {}}},
    {"node drain", {true, {}}},
    {"node undrain", {true, {}}},
    {"node remove", {true, {}}},
    {"relay", {}},
    {"demo", {}},
    {"migrate", {false, {"steps"}}},
    {"events", {}},
    {"replay", {false, {"verify"}}},
    {"admin", {false, {"tenant", "role", "name", "id", "json"}}},
    {"admin tenant", {false, {"tenant", "name", "max-live-tasks", "max-sandboxes", "max-memory", "json"}}},
    {"admin node-token", {false, {"note", "ttl", "revoke", "json"}}},
    {"admin node-tokens", {false, {"json"}}},
    {"project", {true, {}}},
    {"project create", {true, {"name", "repo", "base-ref", "verify"}}},
    {"task", {true, {}}},
    {"task create",
     {true, {"project", "agent", "prompt", "prompt-file", "script-file", "repo", "base-ref", "runtime", "memory", "pids",
             "timeout", "allow", "secret", "verify", "parent", "idempotency-key", "follow", "reconnect-timeout"}}},
    {"task list", {true, {"project", "status", "limit", "cursor"}}},
    {"task logs", {true, {"follow", "f", "reconnect-timeout"}}},
  };
  return table;
}

/// The table entry of `cmd`'s command and its key; null for an unknown command.
std::pair<std::string, const command_options*> options_of(const command_line& cmd) {
  if (cmd.words.empty())
    return {{}, nullptr};
  auto& table = commands();
  if (cmd.words.size() > 1)
    if (auto it = table.find(cmd.words[0] + " " + cmd.words[1]); it != table.end())
      return {it->first, &it->second};
  auto it = table.find(cmd.words[0]);
  return it == table.end() ? std::pair<std::string, const command_options*>{{}, nullptr}
                           : std::pair<std::string, const command_options*>{it->first, &it->second};
}

std::string typed(const std::string& key) { return (key.size() == 1 ? "-" : "--") + key; }

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The known option nearest to `key`, when it is at most two edits away.
std::string nearest(const std::string& key, const std::vector<const option_set*>& known) {
  std::string best;
  std::size_t best_distance = 3;
  for (auto* set : known)
    for (auto& option : *set)
      if (auto d = edit_distance(key, option); d < best_distance && option.size() > 1) {
        best = option;
        best_distance = d;
      }
  return best;
}

constexpr const char* task_create_help = R"(usage: aetherium task create --project ID --agent claude|gemini|codex|script [options]

  --project ID              the project to work on (required)
  --agent A                 claude, gemini, codex or script (required)
  --prompt TEXT             what the agent is asked to do; the script itself for --agent script
  --prompt-file FILE        the prompt, read from FILE
  --script-file FILE        --agent script only: the script, read from FILE
  --repo R                  another repository than the project's
  --base-ref B              the branch, tag or commit to start from (default: the project's)
  --runtime R               crun, runc, runsc or microvm (default: the server's)
  --memory SIZE             memory limit: 512m, 2g, ...
  --pids N                  process limit
  --timeout S               seconds the task may run
  --allow HOST[,HOST]       hosts the sandbox may reach (may be repeated)
  --secret NAME[,NAME]      secrets the sandbox reads from /run/secrets (may be repeated)
  --verify CMD              the verify command (default: the project's)
  --parent ID               the task this one follows up
  --idempotency-key K       a retry with the same key answers the same task
  --follow                  stream the task's log until it ends; exit 1 if it failed
  --reconnect-timeout S     with --follow: how long to keep reconnecting to a server
                            that went away (default 60)
  --json                    print the server's JSON
  --server URL              the API server (AETHERIUM_SERVER, default http://<listen>)
  --token KEY               the API key or JWT (AETHERIUM_TOKEN)
)";

constexpr const char* task_logs_help = R"(usage: aetherium task logs ID [-f|--follow] [--reconnect-timeout S]

  -f, --follow              keep streaming until the task ends; exit 1 if it failed.
                            A lost connection is resumed where it broke off, for up to
                            --reconnect-timeout seconds (default 60). Ctrl-C stops
                            following; the task keeps running.
  --json                    print each chunk as the server's JSON
  --server URL, --token KEY the API server and key (AETHERIUM_SERVER, AETHERIUM_TOKEN)
)";

constexpr const char* project_create_help = R"(usage: aetherium project create --name N --repo R [options]

  --name N                  the project's name, unique in the tenant (required)
  --repo R                  an https:// URL of an allowed host, or a local repository
                            below <repo-root>/<tenant>/ (required)
  --base-ref B              the default branch tasks start from (default main)
  --verify CMD              the command that verifies a task's change
  --json                    print the server's JSON
  --server URL, --token KEY the API server and key (AETHERIUM_SERVER, AETHERIUM_TOKEN)
)";

} // namespace

result<void> check_options(const command_line& cmd) {
  auto [command, own] = options_of(cmd);
  if (!own)
    return {}; // an unknown command is reported as such
  std::vector<const option_set*> known{&settings, &own->own};
  if (own->is_client)
    known.push_back(&client);
  for (auto& [key, value] : cmd.options) {
    if (std::any_of(known.begin(), known.end(), [&](auto* set) { return set->count(key) > 0; }))
      continue;
    std::string detail = "unknown option " + typed(key) + " for '" + command + "'";
    if (auto near = nearest(key, known); !near.empty())
      detail += " (did you mean " + typed(near) + "?)";
    detail += "; see 'aetherium " + (command_help(cmd).empty() ? std::string{} : command + " ") + "--help'";
    return make_error(errc::invalid_argument, detail, typed(key));
  }
  return {};
}

std::string command_help(const command_line& cmd) {
  if (cmd.words.size() < 2)
    return {};
  auto key = cmd.words[0] + " " + cmd.words[1];
  if (key == "task create")
    return task_create_help;
  if (key == "task logs")
    return task_logs_help;
  if (key == "project create")
    return project_create_help;
  return {};
}

} // namespace aetherium::runtime
