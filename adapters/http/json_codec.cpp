#include "adapters/http/json_codec.hpp"

#include <cstdio>
#include <ctime>

namespace aetherium::http {

std::string rfc3339(std::int64_t us) {
  auto seconds = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  auto micros = static_cast<long>(us - static_cast<std::int64_t>(seconds) * 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

namespace {

json time_or_null(std::int64_t us) { return us == 0 ? json(nullptr) : json(rfc3339(us)); }

json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

} // namespace

json to_json(const api::project_view& p) {
  return json{{"id", p.id.str()},
              {"tenant", p.tenant.str()},
              {"name", p.name},
              {"repo", p.repo},
              {"default_base_ref", p.default_base_ref},
              {"verify_command", p.verify_command},
              {"created_at", rfc3339(p.created_at_us)}};
}

json to_json(const api::task_view& t) {
  json diff = nullptr;
  if (t.diff)
    diff = json{{"files_changed", t.diff->files_changed},
                {"insertions", t.diff->insertions},
                {"deletions", t.diff->deletions},
                {"summary", t.diff->summary}};
  return json{
    {"id", t.id.str()},
    {"project", t.project.str()},
    {"tenant", t.tenant.str()},
    {"status", api::to_string(t.status)},
    {"agent_type", t.agent_type},
    {"prompt", t.prompt},
    {"repo", t.repo},
    {"base_ref", t.base_ref},
    {"runtime", t.runtime},
    {"limits", {{"memory_bytes", t.limits.memory_bytes}, {"pids", t.limits.pids},
                {"cpu_millis", t.limits.cpu_millis}, {"disk_bytes", t.limits.disk_bytes}}},
    {"budgets", {{"max_seconds", t.budgets.max_seconds}, {"max_cost_cents", t.budgets.max_cost_cents}}},
    {"network", {{"mode", api::to_string(t.network.kind)}, {"allowed_hosts", t.network.allowed_hosts}}},
    {"secrets", t.secrets},
    {"verify_command", t.verify_command},
    {"parent_task_id", t.parent ? json(t.parent->str()) : json(nullptr)},
    {"failure_reason", text_or_null(t.failure_reason)},
    {"node", text_or_null(t.node)},
    {"created_at", rfc3339(t.created_at_us)},
    {"updated_at", rfc3339(t.updated_at_us)},
    {"started_at", time_or_null(t.started_at_us)},
    {"finished_at", time_or_null(t.finished_at_us)},
    {"diff", diff},
    {"pr_url", text_or_null(t.pr_url)},
    {"version", t.version},
  };
}

json to_json(const api::event_view& e) {
  auto payload = json::parse(e.payload, nullptr, false);
  if (payload.is_discarded())
    payload = json::object();
  return json{{"position", e.position}, {"stream", e.stream},   {"version", e.version},
              {"type", e.type},         {"schema_version", e.schema_version}, {"payload", std::move(payload)},
              {"recorded_at", rfc3339(e.recorded_at_us)}};
}

json to_json(const api::node_view& n) {
  return json{{"id", n.id.str()},
              {"address", n.address},
              {"status", n.up ? "up" : "down"},
              {"cpu_millis", n.cpu_millis},
              {"memory_bytes", n.memory_bytes},
              {"sandbox_slots", n.sandbox_slots},
              {"sandboxes_running", n.sandboxes_running},
              {"runtimes", n.runtimes},
              {"last_heartbeat_at", time_or_null(n.last_heartbeat_us)}};
}

json to_json(const log_chunk& c) { return json{{"offset", c.offset}, {"stream", c.stream}, {"text", c.text}}; }

json to_json(const api::api_key_record& k) {
  return json{{"id", k.id.str()},
              {"tenant", k.tenant.str()},
              {"name", k.name},
              {"role", api::to_string(k.role)},
              {"created_at", rfc3339(k.created_at_us)},
              {"revoked", k.revoked}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

http_response json_response(int status, const json& body) {
  http_response r;
  r.status = status;
  r.body = dump(body);
  return r;
}

int status_of(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::invalid_transition: return 422;
    case errc::quota_exceeded: return 429;
    case errc::unavailable: return 503;
    case errc::corrupt:
    case errc::internal: return 500;
  }
  return 500;
}

http_response error_response(int status, std::string code, std::string message, std::string field) {
  json body{{"code", std::move(code)}, {"message", std::move(message)}};
  if (!field.empty())
    body["field"] = std::move(field);
  return json_response(status, body);
}

http_response error_response(const error& err, std::int64_t retry_after_seconds) {
  auto r = error_response(status_of(err.code), to_string(err.code), err.detail, err.field);
  if (err.code == errc::quota_exceeded)
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  if (err.code == errc::unauthorized)
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aetherium\"");
  return r;
}

} // namespace aetherium::http
