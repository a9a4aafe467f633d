// Strict decoding of request bodies: every field typed, unknown fields refused, the first
// problem reported with the field it concerns.
#include <optional>
#include <set>

#include "adapters/http/json_codec.hpp"
#include "events/api/validation.hpp"
#include "events/line_ends.hpp"

namespace aetherium::http {

namespace {

constexpr int max_depth = 32;

/// Nesting depth of a JSON text, without parsing it (strings are skipped).
bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

result<json> parse_object(std::string_view body) {
  if (too_deep(body))
    return make_error(errc::invalid_argument, "the JSON body nests deeper than 32 levels");
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return make_error(errc::invalid_argument, "the body is not valid JSON");
  if (!j.is_object())
    return make_error(errc::invalid_argument, "the body must be a JSON object");
  return j;
}

/// Reads the fields of one JSON object, remembering the first problem.
class strict_object {
public:
  strict_object(const json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}

  /// A string field; present-but-empty is refused unless `may_be_empty`.
  void text(const char* key, std::string& out, bool required, bool may_be_empty = false) {
    auto* v = field(key, required);
    if (!v)
      return;
    if (!v->is_string())
      return fail(key, "must be a string");
    out = v->get<std::string>();
    if (out.empty() && !may_be_empty)
      return fail(key, "must not be empty");
  }

  void number(const char* key, std::uint64_t& out, std::uint64_t max) {
    auto* v = field(key, false);
    if (!v)
      return;
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() > max)
      return fail(key, "must be an integer from 0 to " + std::to_string(max));
    out = v->get<std::uint64_t>();
  }

  void number(const char* key, std::uint32_t& out, std::uint32_t max) {
    std::uint64_t wide = out;
    number(key, wide, max);
    out = static_cast<std::uint32_t>(wide);
  }

  void texts(const char* key, std::vector<std::string>& out) {
    auto* v = field(key, false);
    if (!v)
      return;
    if (!v->is_array())
      return fail(key, "must be an array of strings");
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        return fail(std::string{key} + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back((*v)[i].get<std::string>());
    }
  }

  /// The nested object `key`, or null when absent (or not an object: then an error).
  std::optional<strict_object> object(const char* key) {
    auto* v = field(key, false);
    if (!v)
      return std::nullopt;
    if (!v->is_object()) {
      fail(key, "must be an object");
      return std::nullopt;
    }
    return strict_object{*v, name(key) + "."};
  }

  /// Takes over the first problem of a nested object.
  void merge(strict_object& nested) {
    if (!err_ && nested.err_)
      err_ = nested.err_;
    if (!err_)
      if (auto unknown = nested.unknown_field())
        err_ = make_error(errc::invalid_argument, *unknown + " is not a known field", *unknown);
  }

  result<void> finish() {
    if (err_)
      return *err_;
    if (auto unknown = unknown_field())
      return make_error(errc::invalid_argument, *unknown + " is not a known field", *unknown);
    return {};
  }

private:
  std::string name(const std::string& key) const { return prefix_ + key; }

  const json* field(const char* key, bool required) {
    seen_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required)
        fail(key, "is required");
      return nullptr;
    }
    return &*it;
  }

  void fail(const std::string& key, const std::string& what) {
    if (!err_)
      err_ = make_error(errc::invalid_argument, name(key) + " " + what, name(key));
  }

  std::optional<std::string> unknown_field() const {
    for (auto& [k, v] : j_.items())
      if (seen_.count(k) == 0)
        return name(k);
    return std::nullopt;
  }

  const json& j_;
  std::string prefix_;
  std::set<std::string> seen_;
  std::optional<error> err_;
};

void read_limits(strict_object& body, api::create_task_request& r) {
  namespace lim = api::limits;
  if (auto l = body.object("limits")) {
    l->number("memory_bytes", r.limits.memory_bytes, lim::memory_bytes);
    l->number("pids", r.limits.pids, lim::pids);
    l->number("cpu_millis", r.limits.cpu_millis, lim::cpu_millis);
    l->number("disk_bytes", r.limits.disk_bytes, lim::disk_bytes);
    body.merge(*l);
  }
  if (auto b = body.object("budgets")) {
    b->number("max_seconds", r.budgets.max_seconds, lim::max_seconds);
    b->number("max_cost_cents", r.budgets.max_cost_cents, lim::max_cost_cents);
    b->number("max_log_bytes", r.budgets.max_log_bytes, lim::max_log_bytes);
    b->number("max_changed_bytes", r.budgets.max_changed_bytes, lim::max_changed_bytes);
    body.merge(*b);
  }
  if (auto n = body.object("network")) {
    n->texts("allowed_hosts", r.network.allowed_hosts);
    body.merge(*n);
    if (!r.network.allowed_hosts.empty())
      r.network.kind = api::network_access::mode::allow_list;
  }
}

} // namespace

result<api::create_project_request> parse_create_project(std::string_view text) {
  auto j = parse_object(text);
  if (!j)
    return j.err();
  api::create_project_request r;
  strict_object body{*j, ""};
  body.text("name", r.name, true);
  body.text("repo", r.repo, true);
  body.text("default_base_ref", r.default_base_ref, false);
  body.text("verify_command", r.verify_command, false, true);
  if (auto ok = body.finish(); !ok)
    return ok.err();
  r.verify_command = normalize_line_ends(r.verify_command);
  if (auto ok = api::validate(r); !ok)
    return ok.err();
  return r;
}

result<api::create_task_request> parse_create_task(std::string_view text) {
  auto j = parse_object(text);
  if (!j)
    return j.err();
  api::create_task_request r;
  strict_object body{*j, ""};
  std::string project, parent;
  body.text("project", project, true);
  body.text("agent_type", r.agent_type, true);
  body.text("prompt", r.prompt, true);
  body.text("repo", r.repo, false);
  body.text("base_ref", r.base_ref, false);
  body.text("runtime", r.runtime, false);
  read_limits(body, r);
  body.texts("secrets", r.secrets);
  body.texts("model_providers", r.model_providers);
  body.text("verify_command", r.verify_command, false, true);
  body.number("node_loss_retries", r.node_loss_retries, 3);
  body.text("parent_task_id", parent, false);
  if (auto ok = body.finish(); !ok)
    return ok.err();
  r.project = project_id{project};
  r.prompt = normalize_line_ends(r.prompt);
  r.verify_command = normalize_line_ends(r.verify_command);
  if (j->contains("parent_task_id"))
    r.parent = task_id{parent};
  if (auto ok = api::validate(r); !ok)
    return ok.err();
  return r;
}

result<create_key_request> parse_create_key(std::string_view text) {
  auto j = parse_object(text);
  if (!j)
    return j.err();
  create_key_request r;
  strict_object body{*j, ""};
  std::string role;
  body.text("name", r.name, true);
  body.text("role", role, true);
  if (auto ok = body.finish(); !ok)
    return ok.err();
  if (r.name.empty() || api::utf8_chars(r.name) > 100)
    return make_error(errc::invalid_argument, "name must be 1 to 100 characters", "name");
  if (!api::parse_role(role, r.role))
    return make_error(errc::invalid_argument, "role must be viewer, operator or admin", "role");
  return r;
}

result<notifications::subscription_request> parse_create_subscription(std::string_view text) {
  auto j = parse_object(text);
  if (!j)
    return j.err();
  notifications::subscription_request r;
  strict_object body{*j, ""};
  body.text("url", r.url, true);
  body.text("secret", r.secret, true);
  body.texts("events", r.events);
  if (auto ok = body.finish(); !ok)
    return ok.err();
  return r;
}

} // namespace aetherium::http
