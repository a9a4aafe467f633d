#include <iostream>

#include "adapters/logs/spdlog_log_sink.hpp"
#include "runtime/admin_commands.hpp"
#include "runtime/cli_options.hpp"
#include "runtime/client_commands.hpp"
#include "runtime/commands.hpp"
#include "runtime/demo_command.hpp"
#include "runtime/kafka_relay.hpp"
#include "runtime/node_command.hpp"
#include "runtime/server.hpp"

namespace aetherium::runtime {

namespace {

constexpr const char* usage_text = R"(usage: aetherium <command> [options]

commands:
  server                        the control plane with a local node, serving the HTTP API
  node --join HOST:PORT[,HOST:PORT] --token T [--name N]
                                run this host's sandboxes for a control plane (the token:
                                `aetherium admin node-token`; later starts need no token).
                                SIGTERM drains it: running sandboxes finish (--drain-timeout
                                S, default 600), then it stops; a second signal stops at once
  node list | node drain NAME | node undrain NAME | node remove NAME
  demo                          start a server and run one task on a sample repository
  relay                         only the event relay to Kafka (needs --kafka-brokers)
  migrate up|down|status        apply, revert (one step) or list schema migrations
  events verify                 walk the event log and check its hash chain
  replay [--verify]             rebuild every projection from position 0 and check it
                                (--verify: also the hash chain and the latest checkpoint)
  admin create-key --tenant T --role admin|operator|viewer [--name N]
  admin list-keys --tenant T | admin revoke-key --tenant T --id K
  admin tenant create --tenant T [--name N] | admin tenant get --tenant T
  admin tenant set-quota --tenant T [--max-live-tasks N] [--max-sandboxes N] [--max-memory BYTES]
                                (N: a number, unlimited, or default: the server's)
  admin node-token [--note TEXT] [--ttl SECONDS] | admin node-token --revoke ID | admin node-tokens
  project create --name N --repo R [--base-ref B] [--verify CMD] | project get ID
  task create --project P --agent A [--prompt TEXT|--prompt-file F] [--follow] ...
                                (aetherium task create --help lists every option)
  task get ID | task list [--project P] [--status S] | task logs ID [-f]
  task cancel ID | task events ID

settings (flag, or environment variable):
  --database-url URL            AETHERIUM_DATABASE_URL   PostgreSQL conninfo
  --listen HOST:PORT            AETHERIUM_LISTEN         default 127.0.0.1:8080
  --data-dir DIR                AETHERIUM_DATA_DIR       default ./.aetherium
  --runtime crun|runc|runsc|microvm  AETHERIUM_RUNTIME   default crun
  --image DIR                   AETHERIUM_IMAGE          sandbox root filesystem
  --max-tasks N                 AETHERIUM_MAX_TASKS      sandboxes at once, default 4
  --tenant-max-tasks N          AETHERIUM_TENANT_MAX_TASKS  live tasks per tenant (429 beyond)
  --warm-sandboxes N            AETHERIUM_WARM_SANDBOXES    sandboxes created ahead per task shape (0)
  --microvm-kernel DIR          AETHERIUM_MICROVM_KERNEL  kernel folder of microVMs (deploy/images/
                                                         build-microvm-kernel.sh); empty: no microvm
  --microvm-accel A             AETHERIUM_MICROVM_ACCEL  kvm, tcg or auto (default)
  --placement P                 AETHERIUM_PLACEMENT      bin_pack (default), spread or best_fit
  --node-listen HOST:PORT       AETHERIUM_NODE_LISTEN    where nodes connect (TLS); empty: none
  --node-timeout S              AETHERIUM_NODE_TIMEOUT   heartbeat silence before a node is lost (10)
  --node-tls-cert F, --node-tls-key F  AETHERIUM_NODE_TLS_CERT/KEY  this process's certificate on the node port
  --node-ca F                   AETHERIUM_NODE_CA        the cluster CA (all three, or none: anonymous
                                                         TLS, loopback only)
  --checkpoint-every N          AETHERIUM_CHECKPOINT_EVERY  events between read-model checkpoints (10000)
  --repo-roots DIR[:DIR]        AETHERIUM_REPO_ROOTS     local repositories only below these
                                                         (default <data-dir>/repos)
  --rate-limit R                AETHERIUM_RATE_LIMIT     requests/s per API key, default 20
  --rate-burst B                AETHERIUM_RATE_BURST     requests at once per key, default 40
  --kafka-brokers LIST          AETHERIUM_KAFKA_BROKERS  empty: relay off
  --github-token T              AETHERIUM_GITHUB_TOKEN   empty: local git code host
  --github-api URL              AETHERIUM_GITHUB_API     default https://api.github.com
  --github-webhook-secret S     AETHERIUM_GITHUB_WEBHOOK_SECRET  empty: webhooks 503
  --jwt-secret S                AETHERIUM_JWT_SECRET     empty: API keys only
  --server URL, --token KEY     AETHERIUM_SERVER, AETHERIUM_TOKEN  for client commands

exit codes: 0 ok, 1 failure of the thing asked for, 2 usage error
)";

} // namespace

int usage_error(const std::string& message) {
  if (!message.empty())
    std::cerr << "aetherium: " << message << "\n\n";
  std::cerr << usage_text;
  return exit_usage;
}

int report_error(const error& err) {
  std::cerr << "aetherium: " << to_string(err.code) << ": " << err.detail << "\n";
  return exit_failure;
}

} // namespace aetherium::runtime

int main(int argc, char** argv) {
  using namespace aetherium::runtime;
  auto cmd = parse_command_line(argc, argv);
  if (!cmd)
    return usage_error(cmd.err().detail);
  if (auto known = check_options(*cmd); !known) {
    std::cerr << "aetherium: " << known.err().detail << "\n";
    return exit_usage;
  }
  if (!cmd->missing_value.empty())
    return usage_error("option " + cmd->missing_value + " needs a value");
  if (auto help = command_help(*cmd); !help.empty() && cmd->has("help")) {
    std::cout << help;
    return exit_ok;
  }
  if (cmd->words.empty() || cmd->has("help")) {
    std::cout << usage_text;
    return cmd->words.empty() && !cmd->has("help") ? exit_usage : exit_ok;
  }
  auto cfg = load_config(*cmd);
  aetherium::set_log_sink(aetherium::make_spdlog_log_sink());
  auto& verb = cmd->words[0];
  if (verb == "server")
    return run_server(*cmd, cfg);
  if (verb == "node")
    return run_node(*cmd, cfg);
  if (verb == "relay")
    return run_relay(*cmd, cfg);
  if (verb == "demo")
    return run_demo(*cmd, cfg);
  if (verb == "migrate")
    return run_migrate(*cmd, cfg);
  if (verb == "events")
    return run_events(*cmd, cfg);
  if (verb == "replay")
    return run_replay(*cmd, cfg);
  if (verb == "admin")
    return run_admin(*cmd, cfg);
  if (verb == "project")
    return run_project(*cmd, cfg);
  if (verb == "task")
    return run_task(*cmd, cfg);
  return usage_error("unknown command '" + verb + "'");
}
