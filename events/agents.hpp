#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/result.hpp"
#include "events/workspace.hpp"

namespace aetherium {

/// Where the prompt and the script of a task appear inside the sandbox.
inline constexpr const char* prompt_path = "/workspace/.aetherium/prompt.md";
inline constexpr const char* script_path = "/workspace/.aetherium/script.sh";

/// How to run one kind of agent. `argv` may use the placeholders {prompt_file},
/// {script_file} and {prompt}; each placeholder is replaced inside its own argument, so
/// the prompt is never spliced into a shell command line.
struct agent_template {
  std::string name;
  std::vector<std::string> argv;
  std::string executable;                 ///< Must exist in the image ("" = argv[0]).
  std::vector<std::string> allowed_hosts; ///< Hosts the agent needs besides model APIs.
  std::vector<std::string> secrets;       ///< Secret names the agent reads from /run/secrets.
  /// Model providers the agent calls through the model gateway, by default: a task that
  /// names none gets these. The sandbox sees the gateway and placeholder keys only.
  std::vector<std::string> model_providers;
  std::map<std::string, std::string> env; ///< Added to the agent's environment.
  /// Files the agent's CLI needs in its home directory (relative path -> content).
  std::map<std::string, std::string> home_files;
  /// Where in its home the CLI keeps its sessions ("" = it keeps none worth resuming):
  /// stored with the task after its run, and put back for a follow-up, whose command then
  /// gets `resume` with {session} replaced by the session's id.
  std::string session_dir;
  std::string session_suffix; ///< The session files' suffix; the id is the name without it.
  std::string resume;
};



/// The agent's home directory inside the sandbox: in the workspace, so what the CLI keeps
/// there lives as long as the task's workspace, and outside the collected change.
inline constexpr const char* agent_home = "/workspace/.aetherium/home";

/// claude (Claude Code, non-interactive, permissions skipped), gemini (Gemini CLI, yolo),
/// codex (Codex CLI exec, full auto) and script (a shell script given with the task).
std::map<std::string, agent_template> default_agent_templates();

/// The argv to run for a task; with `session`, one that resumes it (the template's
/// `resume` added to its last argument). Errors: invalid_argument when the template is
/// empty, or the session id is not [A-Za-z0-9_-]{1,128}.
result<std::vector<std::string>> agent_command(const agent_template& agent, const std::string& prompt,
                                               const std::string& session = {});

/// Session files in one blob, and back. Errors (unpack): corrupt.
std::string pack_agent_files(const std::vector<agent_file>& files);
result<std::vector<agent_file>> unpack_agent_files(std::string_view packed);

} // namespace aetherium
