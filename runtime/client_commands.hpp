#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::http {
class api_client;
}

namespace aetherium::runtime {

/// `aetherium project create|get`: a client of the HTTP API at --server / AETHERIUM_SERVER
/// (default http://<listen>), authenticated with --token / AETHERIUM_TOKEN. Prints the
/// answer for people, or the server's JSON with --json. Returns exit_ok, exit_failure
/// (the server refused or is unreachable; the reason is on stderr) or exit_usage.
int run_project(const command_line& cmd, const config& cfg);

/// `aetherium task create|get|list|logs|cancel|events`, like run_project. `task create
/// --follow` and `task logs -f` stream the log to stdout and end with the task's status
/// line; they return exit_failure when the task failed or was terminated.
int run_task(const command_line& cmd, const config& cfg);

/// `aetherium node list|drain NAME|undrain NAME|remove NAME`, like run_project.
int run_node_admin(const command_line& cmd, const config& cfg);

// The pure parts of the client, exposed for tests.

/// Parses a byte size: 512, 64k, 512m, 2g, 1t (binary units, either case, an optional
/// trailing "b" or "ib": 512MiB). Errors: invalid_argument (not a size, unknown unit,
/// more than 2^64 - 1 bytes).
result<std::uint64_t> parse_size(std::string_view text);

/// The JSON body of `project create` (ProjectCreate of docs/openapi.yaml) from --name,
/// --repo, --base-ref and --verify. Errors: invalid_argument naming the option.
result<std::string> project_request_body(const command_line& cmd);

/// The JSON body of `task create` (TaskCreate of docs/openapi.yaml) from its options:
/// --memory as a size, --pids and --timeout as whole numbers, --allow a,b and --secret a,b
/// as lists, the prompt from --prompt, --prompt-file or (agent script only) --script-file,
/// which is the script itself. Reads those files; nothing else. Errors: invalid_argument
/// whose field names the option.
result<std::string> task_request_body(const command_line& cmd);

/// "aetherium: <code>: <message> (field: F)", or for a server that cannot be reached a
/// sentence naming its URL and how to point the client elsewhere. No trailing newline.
std::string format_error(const error& e);

/// One task for people, several lines: id and status, agent, project, times, failure,
/// diff and its summary, pull request. Errors: invalid_argument when `task_json` is not
/// a JSON object.
result<std::string> format_task(std::string_view task_json);

/// One line: "task <id> <status>", with the failure reason and pull request if any.
result<std::string> format_task_status(std::string_view task_json);

/// A TaskPage as aligned columns with a header, and how to get the next page.
result<std::string> format_task_list(std::string_view page_json);

/// An EventList as aligned "position  type  version" lines.
result<std::string> format_events(std::string_view list_json);

/// One project for people: id, name, repository, base ref, verify command, created.
result<std::string> format_project(std::string_view project_json);

/// The text of one log chunk ({"offset","stream","text"}). Errors: invalid_argument.
result<std::string> chunk_text(std::string_view chunk_json);

/// True for the statuses a task never leaves: completed, failed, terminated.
bool is_final_status(std::string_view status);

/// The task's JSON once it reached a final status, or as it is after 10 s: its log ends
/// when the terminal event is durable, and the read model may trail that by a moment.
result<std::string> settled_task(http::api_client& api, const std::string& id);

} // namespace aetherium::runtime
