// `aetherium admin node-token` and `node-tokens`: join tokens in the event log.
#include "runtime/node_token_commands.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "adapters/json/event_log_node_registry.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

using json = nlohmann::json;

/// Migrates the schema, opens the log and catches a registry up with it.
result<std::shared_ptr<node_registry>> open_registry(const config& cfg, const std::shared_ptr<clock>& time) {
  if (auto m = postgres::migrate_up(cfg.database_url); !m)
    return m.err();
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return store.err();
  return make_event_log_node_registry(*store, time, make_random_id_generator());
}

/// Seconds as digits only, at most 12 of them (the registry bounds the value).
bool parse_ttl(const std::string& text, std::int64_t& out) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(text);
  return true;
}

const char* state_of(const scheduling::node_token_state& t, std::int64_t now_us) {
  if (t.revoked)
    return "revoked";
  return t.expires_at_us != 0 && now_us >= t.expires_at_us ? "expired" : "active";
}

int issue(const command_line& cmd, node_registry& nodes) {
  std::int64_t ttl = 0;
  if (cmd.has("ttl") && !parse_ttl(cmd.get("ttl"), ttl))
    return usage_error("--ttl takes a number of seconds (0: never expires)");
  auto issued = nodes.issue_token(cmd.get("note"), ttl);
  if (!issued)
    return issued.err().code == errc::invalid_argument ? usage_error(issued.err().detail) : report_error(issued.err());
  if (cmd.has("json")) {
    std::cout << json{{"id", issued->id}, {"token", issued->text}}.dump() << "\n";
    return exit_ok;
  }
  std::cout << issued->text << "\n";
  std::cerr << "node token id " << issued->id << " (the token is shown only now; the log keeps its hash)\n";
  return exit_ok;
}

int list(const command_line& cmd, node_registry& nodes, std::int64_t now_us) {
  auto tokens = nodes.token_states();
  if (!tokens)
    return report_error(tokens.err());
  if (cmd.has("json")) {
    auto out = json::array();
    for (auto& t : *tokens)
      out.push_back({{"id", t.id.str()}, {"state", state_of(t, now_us)}, {"note", t.note},
                     {"issued_at_us", t.issued_at_us}, {"expires_at_us", t.expires_at_us}});
    std::cout << out.dump() << "\n";
    return exit_ok;
  }
  for (auto& t : *tokens)
    std::cout << t.id.str() << "\t" << state_of(t, now_us) << "\t"
              << (t.expires_at_us ? std::to_string(t.expires_at_us / 1'000'000) : std::string{"never"}) << "\t"
              << t.note << "\n";
  return exit_ok;
}

} // namespace

int run_admin_node_tokens(const command_line& cmd, const config& cfg) {
  bool listing = cmd.words[1] == "node-tokens";
  if (cmd.words.size() != 2)
    return usage_error("admin " + cmd.words[1] + " takes no further words");
  if (cmd.has("revoke") && cmd.get("revoke").empty())
    return usage_error("--revoke needs the token id (node-token and node-tokens print it)");
  if (cmd.has("revoke") && (cmd.has("note") || cmd.has("ttl")))
    return usage_error("--revoke takes no --note or --ttl");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto time = make_system_clock();
  auto nodes = open_registry(cfg, time);
  if (!nodes)
    return report_error(nodes.err());
  if (listing)
    return list(cmd, **nodes, time->now_us());
  if (!cmd.has("revoke"))
    return issue(cmd, **nodes);
  if (auto revoked = (*nodes)->revoke_token(cmd.get("revoke")); !revoked)
    return report_error(revoked.err());
  std::cout << "node token " << cmd.get("revoke") << " is revoked\n";
  return exit_ok;
}

} // namespace aetherium::runtime
