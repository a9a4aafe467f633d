#include "events/agents.hpp"

#include <cctype>

namespace aetherium {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

/// A CLI run through the shell so the prompt is read from its file by the quoted
/// "$(cat ...)" expansion, never spliced into the script text.
std::vector<std::string> shell_agent(const std::string& command) { return {"/bin/sh", "-c", "exec " + command}; }

} // namespace

std::map<std::string, agent_template> default_agent_templates() {
  std::map<std::string, agent_template> out;
  agent_template claude;
  claude.name = "claude";
  claude.argv = shell_agent("claude -p \"$(cat {prompt_file})\" --dangerously-skip-permissions");
  claude.executable = "claude";
  claude.model_providers = {"anthropic"};
  // Its sessions live under the project directory's name (every non-alphanumeric character
  // of /workspace made a '-'); a follow-up resumes its parent's.
  claude.session_dir = ".claude/projects/-workspace";
  claude.session_suffix = ".jsonl";
  claude.resume = " --resume {session}";
  claude.env = {{"DISABLE_AUTOUPDATER", "1"}, {"DISABLE_TELEMETRY", "1"}, {"DISABLE_ERROR_REPORTING", "1"}, {"LANG", "C.UTF-8"},
                {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"}};
  out["claude"] = claude;

  agent_template gemini;
  gemini.name = "gemini";
  gemini.argv = shell_agent("gemini --yolo --skip-trust -p \"$(cat {prompt_file})\"");
  gemini.executable = "gemini";
  gemini.model_providers = {"gemini"};
  gemini.env = {{"GEMINI_CLI_NO_RELAUNCH", "true"}};
  // API-key auth against the gateway's base URL, no usage statistics, telemetry, updates
  // or IDE integration: the gateway is the CLI's only peer.
  gemini.home_files[".gemini/settings.json"] =
    R"({"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},)"
    R"("telemetry":{"enabled":false},"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false},)"
    R"("ide":{"enabled":false}})";
  out["gemini"] = gemini;

  agent_template codex;
  codex.name = "codex";
  // Codex reads its endpoint from a model provider of its configuration, not from
  // OPENAI_BASE_URL: the gateway's one is given on the command line (its address is known
  // in the sandbox only), the rest in ~/.codex/config.toml.
  codex.argv = shell_agent(
    "codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -c model_provider=aetherium "
    "-c \"model_providers.aetherium={name=\\\"Aetherium model gateway\\\", base_url=\\\"$OPENAI_BASE_URL\\\", "
    "env_key=\\\"OPENAI_API_KEY\\\", wire_api=\\\"responses\\\", supports_websockets=false}\" "
    "\"$(cat {prompt_file})\" </dev/null");
  codex.executable = "codex";
  codex.model_providers = {"openai"};
  codex.home_files[".codex/config.toml"] = "check_for_update_on_startup = false\n\n[analytics]\nenabled = false\n\n"
                                           "[features]\nplugins = false\nremote_plugin = false\n";
  out["codex"] = codex;

  agent_template script;
  script.name = "script";
  script.argv = {"/bin/sh", "{script_file}"};
  script.executable = "/bin/sh";
  out["script"] = script;
  return out;
}

result<std::vector<std::string>> agent_command(const agent_template& agent, const std::string& prompt,
                                               const std::string& session) {
  if (agent.argv.empty())
    return make_error(errc::invalid_argument, "agent " + agent.name + " has no command", "agent_type");
  auto out = agent.argv;
  for (auto& arg : out) {
    replace_all(arg, "{prompt_file}", prompt_path);
    replace_all(arg, "{script_file}", script_path);
    if (arg == "{prompt}")
      arg = prompt;
  }
  if (!session.empty() && !agent.resume.empty()) {
    bool plain = session.size() <= 128;
    for (char c : session)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    if (!plain)
      return make_error(errc::invalid_argument, "not a session id: " + session, "session");
    auto resume = agent.resume;
    replace_all(resume, "{session}", session);
    out.back() += resume;
  }
  return out;
}

std::string pack_agent_files(const std::vector<agent_file>& files) {
  std::string out;
  for (auto& f : files)
    out += f.name + "\n" + std::to_string(f.content.size()) + "\n" + f.content;
  return out;
}

result<std::vector<agent_file>> unpack_agent_files(std::string_view packed) {
  std::vector<agent_file> out;
  while (!packed.empty()) {
    auto name_end = packed.find('\n');
    auto size_end = name_end == std::string_view::npos ? name_end : packed.find('\n', name_end + 1);
    if (size_end == std::string_view::npos)
      return make_error(errc::corrupt, "packed agent files end inside a header");
    agent_file f;
    f.name = std::string(packed.substr(0, name_end));
    auto digits = packed.substr(name_end + 1, size_end - name_end - 1);
    if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return make_error(errc::corrupt, "packed agent files have a bad size");
    auto size = std::stoull(std::string(digits));
    if (packed.size() - size_end - 1 < size)
      return make_error(errc::corrupt, "packed agent files end inside " + f.name);
    f.content = std::string(packed.substr(size_end + 1, size));
    packed.remove_prefix(size_end + 1 + size);
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace aetherium
