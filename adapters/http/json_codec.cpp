#include "adapters/http/json_codec.hpp"

#include <cstdio>
#include <cstring>

#include "adapters/http/json_writer.hpp"

namespace aetherium::http {

namespace {

/// Year, month, day of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

void put_digits(char* at, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

} // namespace

std::string rfc3339(std::int64_t us) {
  std::int64_t seconds = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  auto micros = static_cast<unsigned>(us - seconds * 1'000'000);
  std::int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  auto in_day = static_cast<unsigned>(seconds - days * 86400);
  std::int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  char buf[64];
  if (year < 0 || year > 9999) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ", static_cast<long long>(year), month, day,
                  in_day / 3600, in_day / 60 % 60, in_day % 60, micros);
    return buf;
  }
  std::memcpy(buf, "0000-00-00T00:00:00.000000Z", 27);
  put_digits(buf, static_cast<unsigned>(year), 4);
  put_digits(buf + 5, month, 2);
  put_digits(buf + 8, day, 2);
  put_digits(buf + 11, in_day / 3600, 2);
  put_digits(buf + 14, in_day / 60 % 60, 2);
  put_digits(buf + 17, in_day % 60, 2);
  put_digits(buf + 20, micros, 6);
  return std::string(buf, 27);
}

namespace {

json time_or_null(std::int64_t us) { return us == 0 ? json(nullptr) : json(rfc3339(us)); }

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

namespace {

/// An object of unsigned numbers, in the order given.
void write_numbers(json_writer& w, std::initializer_list<std::pair<const char*, std::uint64_t>> members) {
  w.begin_object();
  for (const auto& [name, value] : members)
    w.key(name).number(value);
  w.end_object();
}

} // namespace

void write_task(json_writer& w, const api::task_view& t) {
  auto when = [&w](std::int64_t us) { us == 0 ? w.null() : w.string(rfc3339(us)); };
  w.begin_object();
  w.key("id").string(t.id.str());
  w.key("project").string(t.project.str());
  w.key("tenant").string(t.tenant.str());
  w.key("status").string(api::to_string(t.status));
  w.key("agent_type").string(t.agent_type);
  w.key("prompt").string(t.prompt);
  w.key("repo").string(t.repo);
  w.key("base_ref").string(t.base_ref);
  w.key("runtime").string(t.runtime);
  w.key("limits");
  write_numbers(w, {{"memory_bytes", t.limits.memory_bytes}, {"pids", t.limits.pids},
                    {"cpu_millis", t.limits.cpu_millis}, {"disk_bytes", t.limits.disk_bytes}});
  w.key("budgets");
  write_numbers(w, {{"max_seconds", t.budgets.max_seconds}, {"max_cost_cents", t.budgets.max_cost_cents},
                    {"max_log_bytes", t.budgets.max_log_bytes}, {"max_changed_bytes", t.budgets.max_changed_bytes}});
  w.key("network").begin_object();
  w.key("mode").string(api::to_string(t.network.kind));
  w.key("allowed_hosts").begin_array();
  for (const auto& host : t.network.allowed_hosts) w.string(host);
  w.end_array().end_object();
  w.key("secrets").begin_array();
  for (const auto& name : t.secrets) w.string(name);
  w.end_array();
  w.key("model_providers").begin_array();
  for (const auto& name : t.model_providers) w.string(name);
  w.end_array();
  w.key("verify_command").string(t.verify_command);
  w.key("node_loss_retries").number(std::uint64_t{t.node_loss_retries});
  w.key("parent_task_id");
  if (t.parent) w.string(t.parent->str());
  else w.null();
  w.key("failure_reason").string_or_null(t.failure_reason);
  w.key("failure_detail").string_or_null(t.failure_detail);
  w.key("spend");
  write_numbers(w, {{"calls", t.spend.calls}, {"input_tokens", t.spend.input_tokens},
                    {"output_tokens", t.spend.output_tokens}, {"cost_microcents", t.spend.cost_microcents},
                    {"cost_cents", t.spend.cost_microcents / 1'000'000 + (t.spend.cost_microcents % 1'000'000 != 0)},
                    {"unread_calls", t.spend.unread_calls}});
  w.key("node").string_or_null(t.node);
  w.key("created_at").string(rfc3339(t.created_at_us));
  w.key("updated_at").string(rfc3339(t.updated_at_us));
  w.key("started_at");
  when(t.started_at_us);
  w.key("finished_at");
  when(t.finished_at_us);
  w.key("diff");
  if (t.diff) {
    w.begin_object();
    w.key("files_changed").number(std::uint64_t{t.diff->files_changed});
    w.key("insertions").number(std::uint64_t{t.diff->insertions});
    w.key("deletions").number(std::uint64_t{t.diff->deletions});
    w.key("summary").string(t.diff->summary);
    w.end_object();
  } else {
    w.null();
  }
  w.key("pr_url").string_or_null(t.pr_url);
  w.key("version").number(std::int64_t{t.version});
  w.end_object();
}

std::string task_json(const api::task_view& t) {
  json_writer w;
  write_task(w, t);
  return w.take();
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
              {"name", n.id.str()},
              {"address", n.address},
              {"status", n.status},
              {"free", json{{"cpu_millis", n.free_cpu_millis},
                            {"memory_bytes", n.free_memory_bytes},
                            {"sandbox_slots", n.free_sandbox_slots}}},
              {"cpu_millis", n.cpu_millis},
              {"memory_bytes", n.memory_bytes},
              {"sandbox_slots", n.sandbox_slots},
              {"sandboxes_running", n.sandboxes_running},
              {"runtimes", n.runtimes},
              {"last_heartbeat_at", time_or_null(n.last_heartbeat_us)}};
}

json to_json(const notifications::subscription_state& s) {
  return json{{"id", s.id.str()}, {"url", s.url}, {"events", s.events}, {"created_at", rfc3339(s.created_at_us)}};
}

json to_json(const notifications::subscription_delivery_dead_lettered& d) {
  return json{{"event_id", d.event_id},     {"event_type", d.event_type}, {"position", d.position},
              {"attempts", d.attempts},     {"last_status", d.last_status}, {"last_error", d.last_error},
              {"dead_lettered_at", rfc3339(d.at_us)}};
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

http_response json_response(int status, const json& body) { return json_text_response(status, dump(body)); }

http_response json_text_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
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
  json body{{"code", to_string(err.code)}, {"message", err.detail}};
  if (!err.field.empty())
    body["field"] = err.field;
  if (err.code == errc::quota_exceeded && err.limit && !err.field.empty()) {
    // A tenant quota: which one and its limit, beside the usual fields.
    body["quota"] = err.field;
    body["limit"] = *err.limit;
  }
  auto r = json_response(status_of(err.code), body);
  if (err.code == errc::quota_exceeded)
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  if (err.code == errc::unauthorized)
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aetherium\"");
  return r;
}

} // namespace aetherium::http
