#include <iostream>

#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

constexpr const char* usage_text = R"(usage: aetherium <command> [options]

commands:
  migrate up|down|status        apply, revert (one step) or list schema migrations
  events verify                 walk the event log and check its hash chain

settings (flag, or environment variable):
  --database-url URL            AETHERIUM_DATABASE_URL   PostgreSQL conninfo
  --listen HOST:PORT            AETHERIUM_LISTEN         default 127.0.0.1:8080
  --data-dir DIR                AETHERIUM_DATA_DIR       default ./.aetherium
  --runtime crun|runc|runsc     AETHERIUM_RUNTIME        default crun
  --kafka-brokers LIST          AETHERIUM_KAFKA_BROKERS  empty: relay off

exit codes: 0 ok, 1 failure of the thing asked for, 2 usage error
)";

} // namespace

int usage_error(const std::string& message) {
  if (!message.empty())
    std::cerr << "aetherium: " << message << "\n\n";
  std::cerr << usage_text;
  return exit_usage;
}

} // namespace aetherium::runtime

int main(int argc, char** argv) {
  using namespace aetherium::runtime;
  auto cmd = parse_command_line(argc, argv);
  if (!cmd)
    return usage_error(cmd.err().detail);
  if (cmd->words.empty() || cmd->has("help")) {
    std::cout << usage_text;
    return cmd->words.empty() && !cmd->has("help") ? exit_usage : exit_ok;
  }
  auto cfg = load_config(*cmd);
  auto& verb = cmd->words[0];
  if (verb == "migrate")
    return run_migrate(*cmd, cfg);
  if (verb == "events")
    return run_events(*cmd, cfg);
  return usage_error("unknown command '" + verb + "'");
}
