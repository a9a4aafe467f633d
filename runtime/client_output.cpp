// The pure parts of the client commands: request bodies from the command line, and the
// server's answers rendered for people. No network and no terminal here (only the files a
// prompt option names are read), so tests link this without the binary's main. Answers of
// an unexpected shape (a field missing or of another type) print as empty rather than
// failing, so an older or newer server still gives readable output.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/client_commands.hpp"

namespace aetherium::runtime {

namespace {

using json = nlohmann::json;

// ---- request bodies ----

/// `project create` and `task create` take no words after these two.
constexpr std::size_t create_words = 2;

error bad(const std::string& detail, const std::string& option) {
  return make_error(errc::invalid_argument, detail, option);
}

result<std::string> read_whole_file(const std::string& path, const std::string& option) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return bad("--" + option + ": cannot read " + path, option);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty())
    return bad("--" + option + ": " + path + " is empty", option);
  return s.str();
}

/// A whole decimal number; only digits, no sign or unit.
result<std::uint64_t> parse_count(const command_line& cmd, const std::string& option) {
  auto text = cmd.get(option);
  auto n = text.find_first_not_of("0123456789") == std::string::npos ? parse_size(text) : bad("", option);
  if (!n)
    return bad("--" + option + " must be a whole number, not '" + text + "'", option);
  return n;
}

/// Comma-separated items, trimmed, empty ones and repeats dropped, order kept.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string item; std::getline(in, item, ',');) {
    auto first = item.find_first_not_of(" \t");
    if (first == std::string::npos)
      continue;
    item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
    if (std::find(out.begin(), out.end(), item) == out.end())
      out.push_back(item);
  }
  return out;
}

/// The --verify command of a create, and a check that no stray words follow the command.
/// "verify" is a switch (for `replay --verify`), so `--verify CMD` leaves CMD as the last
/// word and the option as "1"; `--verify=CMD` arrives whole.
result<std::optional<std::string>> verify_option(const command_line& cmd) {
  std::size_t words = create_words;
  std::optional<std::string> out;
  if (cmd.has("verify")) {
    out = cmd.get("verify");
    if (*out == "1" && cmd.words.size() == create_words + 1)
      out = cmd.words[words++];
    else if (*out == "1")
      return bad("--verify needs a command, e.g. --verify 'make test'", "verify");
  }
  if (cmd.words.size() > words)
    return bad("unexpected argument '" + cmd.words[words] + "'", "");
  return out;
}

/// The prompt: --prompt, --prompt-file or, for the script agent, --script-file (exactly one).
result<std::string> prompt_of(const command_line& cmd, const std::string& agent) {
  int given = int{cmd.has("prompt")} + int{cmd.has("prompt-file")} + int{cmd.has("script-file")};
  if (given == 0)
    return bad(agent == "script" ? "task create needs --prompt SCRIPT, --prompt-file F or --script-file F"
                                 : "task create needs --prompt TEXT or --prompt-file F",
               "prompt");
  if (given > 1)
    return bad("give only one of --prompt, --prompt-file and --script-file", "prompt");
  if (cmd.has("script-file") && agent != "script")
    return bad("--script-file is for --agent script; give the agent a --prompt or --prompt-file", "script-file");
  if (cmd.has("prompt")) {
    if (cmd.get("prompt").empty())
      return bad("--prompt must not be empty", "prompt");
    return cmd.get("prompt");
  }
  std::string option = cmd.has("prompt-file") ? "prompt-file" : "script-file";
  return read_whole_file(cmd.get(option), option);
}

/// limits, budgets, network and secrets from --memory, --pids, --timeout, --allow, --secret.
result<void> add_limits(const command_line& cmd, json& body) {
  if (cmd.has("memory")) {
    auto bytes = parse_size(cmd.get("memory"));
    if (!bytes)
      return bad("--memory: " + bytes.err().detail, "memory");
    body["limits"]["memory_bytes"] = *bytes;
  }
  for (auto [option, object, field] : {std::tuple{"pids", "limits", "pids"}, {"timeout", "budgets", "max_seconds"}}) {
    if (!cmd.has(option))
      continue;
    auto n = parse_count(cmd, option);
    if (!n)
      return n.err();
    body[object][field] = *n;
  }
  if (cmd.has("allow"))
    body["network"]["allowed_hosts"] = split_list(cmd.get("allow"));
  if (cmd.has("secret"))
    body["secrets"] = split_list(cmd.get("secret"));
  return {};
}

/// The JSON text of a body; a prompt read from a file may not be UTF-8.
result<std::string> dump(const json& body) {
  try {
    return body.dump();
  } catch (const json::type_error&) {
    return bad("the prompt is not valid UTF-8 text", "prompt");
  }
}

// ---- answers for people ----

result<json> parse_object(std::string_view text, const char* what) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(errc::invalid_argument, std::string{"the server's answer is not a JSON "} + what);
  return j;
}

/// A string field; "" when absent, null or not a string.
std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// An integer field as decimal text; "" when absent or not an integer.
std::string number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer())
    return {};
  return it->is_number_unsigned() ? std::to_string(it->get<std::uint64_t>())
                                  : std::to_string(it->get<std::int64_t>());
}

/// The array field `key`, or an empty array.
const json& array(const json& j, const char* key) {
  static const json empty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

/// "  label     value\n", nothing when the value is empty.
void line(std::ostringstream& out, const char* label, const std::string& value) {
  if (value.empty())
    return;
  std::string padded{label};
  padded.resize(std::max<std::size_t>(padded.size() + 1, 10), ' ');
  out << "  " << padded << value << "\n";
}

/// Rows padded to their widest cell, two spaces apart; no trailing blanks.
std::string columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (auto& row : rows) {
    std::string l;
    for (std::size_t i = 0; i < row.size(); ++i) {
      l += row[i];
      if (i + 1 < row.size())
        l.append(width[i] - row[i].size() + 2, ' ');
    }
    l.erase(l.find_last_not_of(' ') + 1);
    out += l + "\n";
  }
  return out;
}

std::string diff_line(const json& diff) {
  return number(diff, "files_changed") + " file(s) changed, +" + number(diff, "insertions") + " -"
         + number(diff, "deletions");
}

/// Each line of `text` indented by four spaces.
std::string indented(const std::string& text) {
  std::istringstream in{text};
  std::string out;
  for (std::string l; std::getline(in, l);)
    out += "    " + l + "\n";
  return out;
}

} // namespace

result<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > 19)
    return make_error(errc::invalid_argument, "not a size: '" + std::string{text} + "'");
  std::string unit;
  for (char c : text.substr(digits))
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && (unit.substr(1) == "b" || unit.substr(1) == "ib"))
    unit.resize(1);
  int shift = unit.empty() || unit == "b" ? 0 : unit == "k" ? 10 : unit == "m" ? 20 : unit == "g" ? 30
            : unit == "t" ? 40 : -1;
  if (shift < 0)
    return make_error(errc::invalid_argument, "unknown unit in '" + std::string{text} + "' (use k, m, g or t)");
  auto n = std::stoull(std::string{text.substr(0, digits)});
  if (shift > 0 && n > (~std::uint64_t{0} >> shift))
    return make_error(errc::invalid_argument, "'" + std::string{text} + "' is too large");
  return n << shift;
}

result<std::string> project_request_body(const command_line& cmd) {
  if (!cmd.has("name") || !cmd.has("repo"))
    return bad("project create needs --name and --repo", cmd.has("name") ? "repo" : "name");
  auto verify = verify_option(cmd);
  if (!verify)
    return verify.err();
  json body = {{"name", cmd.get("name")}, {"repo", cmd.get("repo")}};
  if (cmd.has("base-ref"))
    body["default_base_ref"] = cmd.get("base-ref");
  if (*verify)
    body["verify_command"] = **verify;
  return dump(body);
}

result<std::string> task_request_body(const command_line& cmd) {
  if (!cmd.has("project") || !cmd.has("agent"))
    return bad("task create needs --project and --agent", cmd.has("project") ? "agent" : "project");
  auto agent = cmd.get("agent");
  if (agent != "claude" && agent != "gemini" && agent != "codex" && agent != "script")
    return bad("--agent must be claude, gemini, codex or script", "agent");
  auto verify = verify_option(cmd);
  if (!verify)
    return verify.err();
  auto prompt = prompt_of(cmd, agent);
  if (!prompt)
    return prompt.err();
  json body = {{"project", cmd.get("project")}, {"agent_type", agent}, {"prompt", *prompt}};
  for (auto [option, field] : {std::pair{"runtime", "runtime"}, {"repo", "repo"}, {"base-ref", "base_ref"},
                               {"parent", "parent_task_id"}})
    if (cmd.has(option))
      body[field] = cmd.get(option);
  if (*verify)
    body["verify_command"] = **verify;
  if (auto ok = add_limits(cmd, body); !ok)
    return ok.err();
  return dump(body);
}

std::string format_error(const error& e) {
  if (e.code == errc::unavailable && e.detail.rfind("cannot reach ", 0) == 0)
    return "aetherium: " + e.detail + " (is the server running? point --server or AETHERIUM_SERVER at it)";
  std::string out = std::string{"aetherium: "} + to_string(e.code) + ": " + e.detail;
  if (!e.field.empty())
    out += " (field: " + e.field + ")";
  return out;
}

result<std::string> format_task(std::string_view task_json) {
  auto t = parse_object(task_json, "task");
  if (!t)
    return t.err();
  std::ostringstream out;
  out << "task " << text(*t, "id") << "  " << text(*t, "status") << "\n";
  auto runtime = text(*t, "runtime");
  line(out, "agent", text(*t, "agent_type") + (runtime.empty() ? "" : " on " + runtime));
  line(out, "project", text(*t, "project"));
  line(out, "parent", text(*t, "parent_task_id"));
  line(out, "node", text(*t, "node"));
  line(out, "created", text(*t, "created_at"));
  line(out, "started", text(*t, "started_at"));
  line(out, "finished", text(*t, "finished_at"));
  line(out, "failure", text(*t, "failure_reason"));
  if (auto d = t->find("diff"); d != t->end() && d->is_object()) {
    line(out, "diff", diff_line(*d));
    out << indented(text(*d, "summary"));
  }
  line(out, "pr", text(*t, "pr_url"));
  return out.str();
}

result<std::string> format_task_status(std::string_view task_json) {
  auto t = parse_object(task_json, "task");
  if (!t)
    return t.err();
  std::string out = "task " + text(*t, "id") + " " + text(*t, "status");
  if (auto reason = text(*t, "failure_reason"); !reason.empty())
    out += " (" + reason + ")";
  if (auto pr = text(*t, "pr_url"); !pr.empty())
    out += ": " + pr;
  return out + "\n";
}

result<std::string> format_task_list(std::string_view page_json) {
  auto page = parse_object(page_json, "task page");
  if (!page)
    return page.err();
  auto& tasks = array(*page, "tasks");
  if (tasks.empty())
    return std::string{"no tasks\n"};
  std::vector<std::vector<std::string>> rows{{"ID", "STATUS", "AGENT", "PROJECT", "CREATED", "PR"}};
  for (auto& t : tasks) {
    if (!t.is_object())
      continue;
    auto status = text(t, "status");
    if (auto reason = text(t, "failure_reason"); !reason.empty())
      status += " (" + reason + ")";
    rows.push_back({text(t, "id"), status, text(t, "agent_type"), text(t, "project"), text(t, "created_at"),
                    text(t, "pr_url")});
  }
  auto out = columns(rows);
  if (auto cursor = text(*page, "next_cursor"); !cursor.empty())
    out += "more: --cursor " + cursor + "\n";
  return out;
}

result<std::string> format_events(std::string_view list_json) {
  auto list = parse_object(list_json, "event list");
  if (!list)
    return list.err();
  std::vector<std::vector<std::string>> rows;
  for (auto& e : array(*list, "events"))
    if (e.is_object())
      rows.push_back({number(e, "position"), text(e, "type"), number(e, "version")});
  return columns(rows);
}

result<std::string> format_project(std::string_view project_json) {
  auto p = parse_object(project_json, "project");
  if (!p)
    return p.err();
  std::ostringstream out;
  out << "project " << text(*p, "id") << "  " << text(*p, "name") << "\n";
  line(out, "repo", text(*p, "repo"));
  line(out, "base ref", text(*p, "default_base_ref"));
  line(out, "verify", text(*p, "verify_command"));
  line(out, "created", text(*p, "created_at"));
  return out.str();
}

result<std::string> chunk_text(std::string_view chunk_json) {
  auto c = parse_object(chunk_json, "log chunk");
  if (!c)
    return c.err();
  return text(*c, "text");
}

bool is_final_status(std::string_view status) {
  return status == "completed" || status == "failed" || status == "terminated";
}

} // namespace aetherium::runtime
