#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/result.hpp"

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
};

/// The agent's home directory inside the sandbox: in the workspace, so what the CLI keeps
/// there lives as long as the task's workspace, and outside the collected change.
inline constexpr const char* agent_home = "/workspace/.aetherium/home";

/// claude (Claude Code, non-interactive, permissions skipped), gemini (Gemini CLI, yolo),
/// codex (Codex CLI exec, full auto) and script (a shell script given with the task).
std::map<std::string, agent_template> default_agent_templates();

/// The argv to run for a task. Errors: invalid_argument when the template is empty.
result<std::vector<std::string>> agent_command(const agent_template& agent, const std::string& prompt);

} // namespace aetherium
