// The commands that work on the event log directly: migrate and events.
#include <cstdlib>
#include <iostream>

#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "events/log_verifier.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

int fail(const error& err) {
  std::cerr << "aetherium: " << to_string(err.code) << ": " << err.detail << "\n";
  return exit_failure;
}

} // namespace

int run_migrate(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() != 2)
    return usage_error("migrate needs one of: up, down, status");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto& what = cmd.words[1];
  if (what == "up" || what == "down") {
    int steps = std::atoi(cmd.get("steps", "1").c_str());
    if (steps < 1)
      return usage_error("--steps must be a whole number >= 1");
    auto n = what == "up" ? postgres::migrate_up(cfg.database_url)
                          : postgres::migrate_down(cfg.database_url, steps);
    if (!n)
      return fail(n.err());
    std::cout << (what == "up" ? "applied " : "reverted ") << *n << " migration(s)\n";
    return exit_ok;
  }
  if (what == "status") {
    auto status = postgres::migrate_status(cfg.database_url);
    if (!status)
      return fail(status.err());
    for (auto& m : *status)
      std::cout << m.version << "\t" << (m.applied ? "applied" : "pending") << "\t" << m.name << "\n";
    return exit_ok;
  }
  return usage_error("migrate needs one of: up, down, status");
}

int run_events(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() != 2 || cmd.words[1] != "verify")
    return usage_error("events needs: verify");
  if (cfg.database_url.empty())
    return usage_error("no database: set --database-url or AETHERIUM_DATABASE_URL");
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return fail(store.err());
  auto report = verify_log(**store);
  if (!report)
    return fail(report.err());
  if (!report->intact) {
    std::cout << "BROKEN at position " << report->first_bad_position << ": " << report->reason
              << " (" << report->events_checked << " events verified before it)\n";
    return exit_failure;
  }
  std::cout << "intact: " << report->events_checked << " events, head position "
            << report->head_position << "\n";
  return exit_ok;
}

} // namespace aetherium::runtime
