#include "runtime/config.hpp"

#include <cstdlib>
#include <set>

namespace aetherium::runtime {

namespace {

// Options that are switches: they never take a value.
const std::set<std::string> boolean_flags = {"json", "follow", "f", "verify", "help", "keep", "notify-allow-loopback"};
// Options that may be given more than once: the values add up (as a comma-separated list).
const std::set<std::string> list_options = {"allow", "secret", "model-upstream"};

/// Records `key` = `value`; a list option given again adds to its list, any other option
/// given twice is an error (the second would silently win).
result<void> set_option(command_line& out, const std::string& key, std::string value) {
  auto [it, fresh] = out.options.emplace(key, value);
  if (fresh)
    return {};
  if (!list_options.count(key))
    return make_error(errc::invalid_argument, "option --" + key + " is given more than once", key);
  it->second += "," + value;
  return {};
}

void setting(const command_line& cmd, const char* flag, const char* env, std::string& out) {
  if (auto v = std::getenv(env); v && *v)
    out = v;
  if (cmd.has(flag))
    out = cmd.get(flag);
}

} // namespace

std::string command_line::get(const std::string& key, std::string fallback) const {
  auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

result<command_line> parse_command_line(int argc, char** argv) {
  command_line out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i)
        out.rest.emplace_back(argv[i]);
      break;
    }
    if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
      auto key = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
      result<void> set;
      if (auto eq = key.find('='); eq != std::string::npos) {
        set = set_option(out, key.substr(0, eq), key.substr(eq + 1));
      } else if (boolean_flags.count(key)) {
        set = set_option(out, key, "1");
      } else if (i + 1 < argc) {
        set = set_option(out, key, argv[++i]);
      } else {
        out.missing_value = arg;
        set = set_option(out, key, "");
      }
      if (!set)
        return set.err();
      continue;
    }
    out.words.push_back(std::move(arg));
  }
  return out;
}

config load_config(const command_line& cmd) {
  config c;
  setting(cmd, "placement", "AETHERIUM_PLACEMENT", c.placement);
  setting(cmd, "node-listen", "AETHERIUM_NODE_LISTEN", c.node_listen);
  setting(cmd, "node-timeout", "AETHERIUM_NODE_TIMEOUT", c.node_timeout);
  setting(cmd, "node-tls-cert", "AETHERIUM_NODE_TLS_CERT", c.node_tls_cert);
  setting(cmd, "node-tls-key", "AETHERIUM_NODE_TLS_KEY", c.node_tls_key);
  setting(cmd, "node-ca", "AETHERIUM_NODE_CA", c.node_ca);
  setting(cmd, "listen", "AETHERIUM_LISTEN", c.listen);
  setting(cmd, "database-url", "AETHERIUM_DATABASE_URL", c.database_url);
  setting(cmd, "kafka-brokers", "AETHERIUM_KAFKA_BROKERS", c.kafka_brokers);
  setting(cmd, "data-dir", "AETHERIUM_DATA_DIR", c.data_dir);
  setting(cmd, "runtime", "AETHERIUM_RUNTIME", c.runtime);
  setting(cmd, "github-token", "AETHERIUM_GITHUB_TOKEN", c.github_token);
  setting(cmd, "github-api", "AETHERIUM_GITHUB_API", c.github_api);
  setting(cmd, "github-webhook-secret", "AETHERIUM_GITHUB_WEBHOOK_SECRET", c.github_webhook_secret);
  setting(cmd, "jwt-secret", "AETHERIUM_JWT_SECRET", c.jwt_secret);
  setting(cmd, "image", "AETHERIUM_IMAGE", c.image);
  setting(cmd, "max-tasks", "AETHERIUM_MAX_TASKS", c.max_tasks);
  setting(cmd, "tenant-max-tasks", "AETHERIUM_TENANT_MAX_TASKS", c.tenant_max_tasks);
  setting(cmd, "checkpoint-every", "AETHERIUM_CHECKPOINT_EVERY", c.checkpoint_every);
  setting(cmd, "warm-sandboxes", "AETHERIUM_WARM_SANDBOXES", c.warm_sandboxes);
  setting(cmd, "repo-roots", "AETHERIUM_REPO_ROOTS", c.repo_roots);
  setting(cmd, "repo-hosts", "AETHERIUM_REPO_HOSTS", c.repo_hosts);
  setting(cmd, "repo-ssh", "AETHERIUM_REPO_SSH", c.repo_ssh);
  setting(cmd, "rate-limit", "AETHERIUM_RATE_LIMIT", c.rate_limit);
  setting(cmd, "rate-burst", "AETHERIUM_RATE_BURST", c.rate_burst);
  setting(cmd, "egress-allow-private", "AETHERIUM_EGRESS_ALLOW_PRIVATE", c.egress_allow_private);
  setting(cmd, "notify-allow-loopback", "AETHERIUM_NOTIFY_ALLOW_LOOPBACK", c.notify_allow_loopback);
  setting(cmd, "notify-max-attempts", "AETHERIUM_NOTIFY_MAX_ATTEMPTS", c.notify_max_attempts);
  setting(cmd, "notify-retry-delay-ms", "AETHERIUM_NOTIFY_RETRY_DELAY_MS", c.notify_retry_delay_ms);
  setting(cmd, "notify-retry-max-delay-ms", "AETHERIUM_NOTIFY_RETRY_MAX_DELAY_MS", c.notify_retry_max_delay_ms);
  setting(cmd, "model-upstream", "AETHERIUM_MODEL_UPSTREAMS", c.model_upstreams);
  setting(cmd, "model-prices", "AETHERIUM_MODEL_PRICES", c.model_prices);
  setting(cmd, "microvm-kernel", "AETHERIUM_MICROVM_KERNEL", c.microvm_kernel);
  setting(cmd, "microvm-accel", "AETHERIUM_MICROVM_ACCEL", c.microvm_accel);
  return c;
}

} // namespace aetherium::runtime
