#include "events/api/validation.hpp"
#include "events/domain/task.hpp"

#include <algorithm>
#include <climits>

#include <set>
#include <string>

#include "events/agents.hpp"

namespace aetherium::api {

namespace {

bool alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool printable_no_space(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max)
    return false;
  for (char c : s)
    if (c < '!' || c > '~')
      return false;
  return true;
}

bool all_of_class(std::string_view s, std::string_view extra) noexcept {
  for (char c : s)
    if (!alnum(c) && extra.find(c) == std::string_view::npos)
      return false;
  return true;
}

error invalid(std::string field, std::string what) {
  return make_error(errc::invalid_argument, field + " " + what, field);
}

/// Free text: any UTF-8 but NUL, which the log's JSON columns cannot hold.
result<void> check_text(std::string_view value, std::size_t min, std::size_t max, const char* field) {
  if (value.find('\0') != std::string_view::npos)
    return invalid(field, "must not contain NUL (U+0000) characters");
  auto n = utf8_chars(value);
  if (n < min)
    return invalid(field, min == 1 ? "must not be empty" : "is too short");
  if (n > max)
    return invalid(field, "is longer than " + std::to_string(max) + " characters");
  return {};
}

result<void> check_limits(const resource_limits& l, const task_budgets& b) {
  // Zero means the server's default; anything else must be enough to start a sandbox.
  if (l.memory_bytes != 0 && l.memory_bytes < (16ull << 20))
    return invalid("limits.memory_bytes", "must be 0 (the default) or at least 16 MiB");
  if (l.pids != 0 && l.pids < 8)
    return invalid("limits.pids", "must be 0 (the default) or at least 8");
  if (l.cpu_millis != 0 && l.cpu_millis < 10)
    return invalid("limits.cpu_millis", "must be 0 (the default) or at least 10");
  if (l.memory_bytes > limits::memory_bytes)
    return invalid("limits.memory_bytes", "is above " + std::to_string(limits::memory_bytes));
  if (l.pids > limits::pids)
    return invalid("limits.pids", "is above " + std::to_string(limits::pids));
  if (l.cpu_millis > limits::cpu_millis)
    return invalid("limits.cpu_millis", "is above " + std::to_string(limits::cpu_millis));
  if (l.disk_bytes > limits::disk_bytes)
    return invalid("limits.disk_bytes", "is above " + std::to_string(limits::disk_bytes));
  if (b.max_seconds > limits::max_seconds)
    return invalid("budgets.max_seconds", "is above " + std::to_string(limits::max_seconds));
  if (b.max_cost_cents > limits::max_cost_cents)
    return invalid("budgets.max_cost_cents", "is above " + std::to_string(limits::max_cost_cents));
  if (b.max_log_bytes > limits::max_log_bytes)
    return invalid("budgets.max_log_bytes", "is above " + std::to_string(limits::max_log_bytes));
  if (b.max_changed_bytes > limits::max_changed_bytes)
    return invalid("budgets.max_changed_bytes", "is above " + std::to_string(limits::max_changed_bytes));
  return {};
}

result<void> check_names(const std::vector<std::string>& names, std::size_t max, bool (*valid)(std::string_view),
                         const std::string& field) {
  if (names.size() > max)
    return invalid(field, "has more than " + std::to_string(max) + " items");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto item = field + "[" + std::to_string(i) + "]";
    if (!valid(names[i]))
      return invalid(item, "is not a valid name");
    if (!seen.insert(names[i]).second)
      return invalid(item, "is a duplicate");
  }
  return {};
}

} // namespace

std::size_t utf8_chars(std::string_view text) noexcept {
  std::size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

bool valid_id(std::string_view id) noexcept {
  // The first character is a letter or digit: "." and ".." must never become directory names.
  return !id.empty() && id.size() <= limits::id_chars && alnum(id[0]) && all_of_class(id, "._-");
}

bool valid_project_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= limits::name_chars && alnum(name[0]) && all_of_class(name, "._-");
}

bool valid_repo(std::string_view repo) noexcept { return printable_no_space(repo, limits::repo_chars); }

bool valid_ref(std::string_view ref) noexcept {
  return !ref.empty() && ref.size() <= limits::ref_chars && all_of_class(ref, "._/-");
}

bool valid_secret_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= limits::secret_name_chars && name[0] != '.' && all_of_class(name, "._-");
}

bool valid_host(std::string_view host) noexcept {
  if (host.empty() || host.size() > limits::host_chars)
    return false;
  if (host[0] == '.')
    host.remove_prefix(1);
  bool label_empty = true;
  for (char c : host) {
    if (c == '.') {
      if (label_empty)
        return false;
      label_empty = true;
    } else if (alnum(c) || c == '-') {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

bool valid_idempotency_key(std::string_view key) noexcept {
  return printable_no_space(key, limits::idempotency_key_chars);
}

bool valid_runtime(std::string_view runtime) noexcept {
  return runtime.empty() || runtime == "crun" || runtime == "runc" || runtime == "runsc" || runtime == "microvm";
}

result<void> validate(const create_project_request& r) {
  if (!valid_project_name(r.name))
    return invalid("name", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  if (!valid_repo(r.repo))
    return invalid("repo", "must be 1 to 2048 printable ASCII characters without spaces");
  if (!valid_ref(r.default_base_ref))
    return invalid("default_base_ref", "must match [A-Za-z0-9._/-]{1,255}");
  return check_text(r.verify_command, 0, limits::command_chars, "verify_command");
}

result<void> validate(const create_task_request& r) {
  if (!valid_id(r.project.str()))
    return invalid("project", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  if (default_agent_templates().count(r.agent_type) == 0)
    return invalid("agent_type", "is not a known agent type");
  if (auto ok = check_text(r.prompt, 1, limits::prompt_chars, "prompt"); !ok)
    return ok;
  if (!r.repo.empty() && !valid_repo(r.repo))
    return invalid("repo", "must be 1 to 2048 printable ASCII characters without spaces");
  if (!r.base_ref.empty() && !valid_ref(r.base_ref))
    return invalid("base_ref", "must match [A-Za-z0-9._/-]{1,255}");
  if (!valid_runtime(r.runtime))
    return invalid("runtime", "must be one of crun, runc, runsc, microvm");
  if (auto ok = check_limits(r.limits, r.budgets); !ok)
    return ok;
  if (auto ok = check_names(r.network.allowed_hosts, limits::hosts, valid_host, "network.allowed_hosts"); !ok)
    return ok;
  if ((r.network.kind == network_access::mode::allow_list) == r.network.allowed_hosts.empty())
    return invalid("network.allowed_hosts", "must be non-empty exactly when the mode is allow_list");
  if (auto ok = check_names(r.secrets, limits::secrets, valid_secret_name, "secrets"); !ok)
    return ok;
  for (auto& name : r.secrets)
    if (name == "anthropic_api_key" || name == "openai_api_key" || name == "gemini_api_key")
      return invalid("secrets", name + " is the model gateway's and never enters a sandbox: name the provider in "
                                       "model_providers instead");
  if (auto ok = check_names(r.model_providers, 3, domain::known_model_provider, "model_providers"); !ok)
    return ok;
  if (auto ok = check_text(r.verify_command, 0, limits::command_chars, "verify_command"); !ok)
    return ok;
  if (r.parent && !valid_id(r.parent->str()))
    return invalid("parent_task_id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  return {};
}

result<std::int64_t> parse_task_cursor(std::string_view cursor) {
  if (cursor.empty())
    return INT64_MAX;
  if (cursor.size() > 18 || !std::all_of(cursor.begin(), cursor.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return make_error(errc::invalid_argument, "the cursor is not one this server handed out", "cursor");
  return std::stoll(std::string{cursor});
}

} // namespace aetherium::api
