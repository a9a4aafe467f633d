#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/result.hpp"

namespace aetherium::runtime {

/// Every setting of the aetherium binary. Each has a flag (--name) and an environment
/// variable (AETHERIUM_NAME); a flag wins over the environment, which wins over defaults.
struct config {
  std::string listen = "127.0.0.1:8080";
  std::string database_url;            ///< Required by commands that touch the event log.
  std::string kafka_brokers;           ///< Empty: the Kafka relay is off.
  std::string data_dir = "./.aetherium";
  std::string runtime = "crun";
  std::string github_token;
  std::string github_api = "https://api.github.com";
  std::string github_webhook_secret;   ///< Empty: the webhook endpoint answers 503.
  std::string jwt_secret;              ///< Empty: JWTs are refused, API keys only.
  std::string image;                   ///< Sandbox root filesystem; empty: <data_dir>/images/agent.
  std::string max_tasks = "4";         ///< Sandboxes the local node runs at once.
  std::string tenant_max_tasks = "0";  ///< Live tasks per tenant; 0 = no limit (beyond 429).
  std::string repo_roots;              ///< ':'-separated; local repositories only below <root>/<tenant>/. Empty: <data_dir>/repos.
  std::string repo_hosts = "github.com"; ///< ','-separated hosts (host[:port]) of https remotes tasks may fetch.
  std::string repo_ssh = "0";          ///< "1": ssh remotes of those hosts too.
  std::string checkpoint_every = "10000"; ///< Events folded between two read-model checkpoints (also every 30 s); 0 = only at stop.
  std::string warm_sandboxes = "0";    ///< Sandboxes created ahead per recent task shape (crun, runc).
  std::string rate_limit = "20";       ///< Requests per second per API key or JWT subject.
  std::string rate_burst = "40";       ///< Requests a key may send at once before the rate applies.
  std::string egress_allow_private;    ///< ','-separated CIDRs allow-list proxies may reach though not public.
  std::string notify_allow_loopback = "0";  ///< "1": webhooks may reach loopback and private addresses.
  std::string notify_max_attempts = "5";    ///< Attempts per notification before it is dead-lettered.
  std::string notify_retry_delay_ms = "1000";    ///< Wait before the first retry; doubles after each.
  std::string notify_retry_max_delay_ms = "60000"; ///< Longest wait between two attempts.
  /// ','-separated NAME=URL: where the model gateway sends each provider's calls (the
  /// public APIs over TLS for those not named). --model-upstream may be given per provider.
  std::string model_upstreams;
  std::string model_prices; ///< JSON file of prices per provider and model; empty: built-in list prices.
  /// Folder made by deploy/images/build-microvm-kernel.sh; empty: runtime microvm is not offered.
  std::string microvm_kernel;
  std::string microvm_accel = "auto"; ///< kvm, tcg, or auto (KVM when a probe VM boots under it).
  // Many hosts.
  std::string placement = "bin_pack";  ///< bin_pack, spread or best_fit: how tasks choose a node.
  std::string node_listen;             ///< HOST:PORT where nodes connect (TLS); empty: no other nodes.
  std::string node_timeout = "10";     ///< Seconds without a heartbeat before a node is lost.
  std::string node_tls_cert;           ///< PEM certificate of this process on the node port (mutual TLS).
  std::string node_tls_key;            ///< Its private key.
  std::string node_ca;                 ///< The cluster CA every peer's certificate must chain to.
  std::string join;                    ///< `aetherium node`: control plane(s) HOST:PORT[,HOST:PORT...].
  std::string node_token;              ///< `aetherium node`: the join token (first join only).
  std::string node_name;               ///< `aetherium node`: this node's name; empty: the host name.
};

/// The command line split into the command words and the --key value options.
struct command_line {
  std::vector<std::string> words;                 ///< e.g. {"migrate", "up"}
  std::map<std::string, std::string> options;     ///< e.g. {"tenant": "acme"}
  std::vector<std::string> rest;                  ///< Everything after "--".
  std::string missing_value;                      ///< An option that ended the line without its value.
  bool has(const std::string& key) const { return options.count(key) > 0; }
  std::string get(const std::string& key, std::string fallback = {}) const;
};

/// Splits argv. An --option that needs a value (every one but the switches listed in
/// `boolean_flags`) but ends the line is recorded, with an empty value, in `missing_value`:
/// the caller first checks that the option exists, then reports the missing value.
/// Errors: invalid_argument for an option given twice (other than --allow, --secret).
result<command_line> parse_command_line(int argc, char** argv);

/// Builds the config from defaults, the environment, then the options of `cmd`.
config load_config(const command_line& cmd);

} // namespace aetherium::runtime
