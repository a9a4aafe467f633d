#include "events/agents.hpp"

namespace aetherium {

namespace {

// The CLIs read their API key from the environment; the key itself stays a file on tmpfs
// and only enters the agent process's environment inside the sandbox. The prompt is read
// from its file by the quoted "$(cat ...)" expansion, never spliced into the script text.
std::vector<std::string> shell_agent(const std::string& key_env, const std::string& secret,
                                     const std::string& command) {
  return {"/bin/sh", "-c",
          "if [ -r /run/secrets/" + secret + " ]; then export " + key_env + "=\"$(cat /run/secrets/" + secret
            + ")\"; fi; exec " + command};
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

} // namespace

std::map<std::string, agent_template> default_agent_templates() {
  std::map<std::string, agent_template> out;
  out["claude"] = {"claude",
                   shell_agent("ANTHROPIC_API_KEY", "anthropic_api_key",
                               "claude -p \"$(cat {prompt_file})\" --dangerously-skip-permissions"),
                   "claude", {"api.anthropic.com"}, {"anthropic_api_key"}};
  out["gemini"] = {"gemini",
                   shell_agent("GEMINI_API_KEY", "gemini_api_key", "gemini --yolo -p \"$(cat {prompt_file})\""),
                   "gemini", {"generativelanguage.googleapis.com"}, {"gemini_api_key"}};
  out["codex"] = {"codex",
                  shell_agent("OPENAI_API_KEY", "openai_api_key", "codex exec --full-auto \"$(cat {prompt_file})\""),
                  "codex", {"api.openai.com"}, {"openai_api_key"}};
  out["script"] = {"script", {"/bin/sh", "{script_file}"}, "/bin/sh", {}, {}};
  return out;
}

result<std::vector<std::string>> agent_command(const agent_template& agent, const std::string& prompt) {
  if (agent.argv.empty())
    return make_error(errc::invalid_argument, "agent " + agent.name + " has no command", "agent_type");
  auto out = agent.argv;
  for (auto& arg : out) {
    replace_all(arg, "{prompt_file}", prompt_path);
    replace_all(arg, "{script_file}", script_path);
    if (arg == "{prompt}")
      arg = prompt;
  }
  return out;
}

} // namespace aetherium
