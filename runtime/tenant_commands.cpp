// `aetherium admin tenant`: tenants and their quotas, written to and read from the log.
#include "runtime/tenant_commands.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

using json = nlohmann::json;
using scheduling::tenant_quotas;

constexpr const char* principal = "cli";

/// The quota options, in the order they print, with the field each sets.
struct quota_option {
  const char* option;
  const char* name;
  scheduling::quota tenant_quotas::*field;
  bool bytes;
};
const quota_option quota_options[] = {
  {"max-live-tasks", "max_live_tasks", &tenant_quotas::max_live_tasks, false},
  {"max-sandboxes", "max_sandboxes", &tenant_quotas::max_sandboxes, false},
  {"max-memory", "max_memory_bytes", &tenant_quotas::max_memory_bytes, true},
};

/// `base` with the quota options `cmd` gives; `given` tells whether there was one.
result<tenant_quotas> quotas_from(const command_line& cmd, tenant_quotas base, bool& given) {
  given = false;
  for (auto& q : quota_options) {
    if (!cmd.has(q.option))
      continue;
    auto value = parse_quota(cmd.get(q.option), q.bytes);
    if (!value)
      return make_error(errc::invalid_argument, "--" + std::string{q.option} + ": " + value.err().detail, q.option);
    base.*q.field = *value;
    given = true;
  }
  return base;
}

json quota_json(const scheduling::quota& q) {
  return q ? json(*q) : json(nullptr);
}

std::string quota_text(const scheduling::quota& q) {
  return !q ? "default" : *q == 0 ? "unlimited" : std::to_string(*q);
}

int print(const command_line& cmd, const tenant_record& t) {
  auto& s = t.state;
  if (cmd.has("json")) {
    json quotas = json::object();
    for (auto& q : quota_options)
      quotas[q.name] = quota_json(s.quotas.*q.field);
    std::cout << json{{"tenant", s.id.str()}, {"name", s.name}, {"quotas", quotas},
                      {"created_at_us", s.created_at_us}, {"updated_at_us", s.updated_at_us}}.dump()
              << "\n";
    return exit_ok;
  }
  std::cout << "tenant " << s.id.str() << " (" << s.name << ")\n";
  for (auto& q : quota_options)
    std::cout << "  " << q.name << std::string(18 - std::string{q.name}.size(), ' ') << quota_text(s.quotas.*q.field)
              << "\n";
  std::cout << "(default: the server's --tenant-max-tasks for max_live_tasks, unlimited for the others)\n";
  return exit_ok;
}

int create(const command_line& cmd, event_store& store, id_generator& ids, clock& time, const tenant_id& id) {
  bool given = false;
  auto quotas = quotas_from(cmd, {}, given);
  if (!quotas)
    return usage_error(quotas.err().detail);
  scheduling::create_tenant c{id, cmd.get("name", id.str()), *quotas, time.now_us()};
  auto t = write_tenant(store, ids, id, c, principal);
  if (!t)
    return t.err().code == errc::invalid_argument ? usage_error(t.err().detail) : report_error(t.err());
  return print(cmd, *t);
}

int set_quota(const command_line& cmd, event_store& store, id_generator& ids, clock& time, const tenant_id& id) {
  auto current = load_tenant(store, id);
  if (!current)
    return report_error(current.err());
  if (!current->state.exists)
    return report_error(make_error(errc::not_found, "no tenant " + id.str() + " (create it with 'aetherium admin tenant create')"));
  bool given = false;
  auto quotas = quotas_from(cmd, current->state.quotas, given);
  if (!quotas)
    return usage_error(quotas.err().detail);
  if (!given)
    return usage_error("set-quota needs --max-live-tasks, --max-sandboxes or --max-memory");
  auto t = write_tenant(store, ids, id, scheduling::change_quotas{*quotas, time.now_us()}, principal);
  if (!t)
    return report_error(t.err());
  return print(cmd, *t);
}

} // namespace

int run_admin_tenant(const command_line& cmd, const config& cfg) {
  auto verb = cmd.words.size() == 3 ? cmd.words[2] : std::string{};
  if (verb != "create" && verb != "get" && verb != "set-quota")
    return usage_error("admin tenant needs one of: create, get, set-quota");
  if (cmd.get("tenant").empty())
    return usage_error("--tenant is required");
  bool ignored = false;
  if (auto quotas = quotas_from(cmd, {}, ignored); !quotas)
    return usage_error(quotas.err().detail);
  if (verb == "get" && ignored)
    return usage_error("admin tenant get takes no quota options (use set-quota)");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  if (auto m = postgres::migrate_up(cfg.database_url); !m)
    return report_error(m.err());
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return report_error(store.err());
  auto ids = make_random_id_generator();
  auto time = make_system_clock();
  tenant_id id{cmd.get("tenant")};
  if (verb == "create")
    return create(cmd, **store, *ids, *time, id);
  if (verb == "set-quota")
    return set_quota(cmd, **store, *ids, *time, id);
  auto t = load_tenant(**store, id);
  if (!t)
    return report_error(t.err());
  if (!t->state.exists)
    return report_error(make_error(errc::not_found, "no tenant " + id.str()));
  return print(cmd, *t);
}

} // namespace aetherium::runtime
