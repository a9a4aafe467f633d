// `aetherium admin`: API keys, tenants and node join tokens, written to and read from the event log.
#include "runtime/admin_commands.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "adapters/http/auth/authenticator.hpp"
#include "adapters/json/event_log_api_key_store.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "runtime/commands.hpp"
#include "runtime/node_token_commands.hpp"
#include "runtime/tenant_commands.hpp"

namespace aetherium::runtime {

namespace {

using json = nlohmann::json;

/// The ports the key subcommands work through.
struct key_ports {
  std::shared_ptr<clock> time = make_system_clock();
  std::shared_ptr<id_generator> ids = make_random_id_generator();
  std::shared_ptr<event_store> store;
  std::shared_ptr<api::api_key_store> keys;
};

/// Migrates the schema, opens the event log and catches the key store up with it.
result<key_ports> open_keys(const config& cfg) {
  if (auto m = postgres::migrate_up(cfg.database_url); !m)
    return m.err();
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return store.err();
  key_ports out;
  out.store = *store;
  out.keys = make_event_log_api_key_store(*store, out.time, out.ids);
  return out;
}

/// A key belongs to a tenant: a key for a tenant the log does not know creates the tenant
/// (named after its id, with the server's default quotas), so `create-key` alone still
/// sets up a tenant as it always did.
int create_key(const command_line& cmd, key_ports& ports, api::role role) {
  auto owner = ensure_tenant(*ports.store, *ports.ids, *ports.time, tenant_id{cmd.get("tenant")}, "cli");
  if (!owner)
    return owner.err().code == errc::invalid_argument ? usage_error(owner.err().detail) : report_error(owner.err());
  auto issued = http::issue_api_key(*ports.keys, *ports.time, *ports.ids, tenant_id{cmd.get("tenant")}, role,
                                    cmd.get("name"));
  if (!issued)
    return report_error(issued.err());
  auto& r = issued->record;
  if (cmd.has("json")) {
    std::cout << json{{"id", r.id.str()}, {"tenant", r.tenant.str()}, {"role", api::to_string(r.role)},
                      {"key", issued->key}}.dump()
              << "\n";
    return exit_ok;
  }
  std::cout << "API key for tenant " << r.tenant.str() << " (role " << api::to_string(r.role) << "): " << issued->key
            << "\n"
            << "key id " << r.id.str() << " (the key is shown only now; the log keeps its hash)\n";
  return exit_ok;
}

int list_keys(const command_line& cmd, key_ports& ports) {
  auto keys = ports.keys->list(tenant_id{cmd.get("tenant")});
  if (cmd.has("json")) {
    auto out = json::array();
    for (auto& k : keys)
      out.push_back({{"id", k.id.str()}, {"role", api::to_string(k.role)}, {"name", k.name}, {"revoked", k.revoked}});
    std::cout << out.dump() << "\n";
    return exit_ok;
  }
  for (auto& k : keys)
    std::cout << k.id.str() << "\t" << api::to_string(k.role) << "\t" << (k.revoked ? "revoked" : "active") << "\t"
              << k.name << "\n";
  return exit_ok;
}

/// Revoking names the key's tenant: a key of another tenant is not found, like a missing
/// one. The tenant's stream is not required: keys made before tenants were recorded have
/// none.
int revoke_key(const command_line& cmd, key_ports& ports) {
  tenant_id tenant{cmd.get("tenant")};
  auto revoked = ports.keys->revoke(tenant, apikey_id{cmd.get("id")});
  if (!revoked)
    return report_error(revoked.err());
  std::cout << "API key " << cmd.get("id") << " of tenant " << tenant.str() << " is revoked\n";
  return exit_ok;
}

} // namespace

int run_admin(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() >= 2 && cmd.words[1] == "tenant")
    return run_admin_tenant(cmd, cfg);
  if (cmd.words.size() >= 2 && (cmd.words[1] == "node-token" || cmd.words[1] == "node-tokens"))
    return run_admin_node_tokens(cmd, cfg);
  bool create = cmd.words.size() == 2 && cmd.words[1] == "create-key";
  bool list = cmd.words.size() == 2 && cmd.words[1] == "list-keys";
  bool revoke = cmd.words.size() == 2 && cmd.words[1] == "revoke-key";
  if (!create && !list && !revoke)
    return usage_error("admin needs one of: create-key, list-keys, revoke-key, tenant, node-token, node-tokens");
  if (cmd.get("tenant").empty())
    return usage_error("--tenant is required");
  if (revoke && cmd.get("id").empty())
    return usage_error("revoke-key needs --id (the key id create-key and list-keys print)");
  api::role role = api::role::viewer;
  if (create && !api::parse_role(cmd.get("role"), role))
    return usage_error("--role must be admin, operator or viewer");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto ports = open_keys(cfg);
  if (!ports)
    return report_error(ports.err());
  if (revoke)
    return revoke_key(cmd, *ports);
  return create ? create_key(cmd, *ports, role) : list_keys(cmd, *ports);
}

} // namespace aetherium::runtime
