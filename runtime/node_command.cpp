// `aetherium node`: one host's sandboxes for a control plane, over CAF's network layer.
#include "runtime/node_command.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/ssl.h>

#include "actors/caf_system_config.hpp"
#include "cluster/cluster_messages.hpp"
#include "cluster/node_agent.hpp"
#include "events/logger.hpp"
#include "runtime/client_commands.hpp"
#include "runtime/commands.hpp"
#include "runtime/local_runtimes.hpp"

namespace aetherium::runtime {

namespace {

namespace fs = std::filesystem;
using namespace aetherium::cluster;

volatile std::sig_atomic_t node_stop = 0;
volatile std::sig_atomic_t node_stop_now = 0; ///< A second signal: stop without waiting for sandboxes.

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    auto end = std::min(list.find(',', at), list.size());
    if (end > at)
      out.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string setting(const command_line& cmd, const char* flag, const char* env, std::string fallback = {}) {
  if (cmd.has(flag))
    return cmd.get(flag);
  if (auto v = std::getenv(env); v && *v)
    return v;
  return fallback;
}

/// Connects to the gateway at `address`; gives up after 10 s (CAF's own connect has no limit).
result<caf::actor> connect(caf::actor_system& sys, const std::string& address) {
  auto where = host_port(address);
  if (!where)
    return where.err();
  auto attempt = std::make_shared<std::promise<caf::expected<caf::actor>>>();
  auto got = attempt->get_future();
  std::thread{[&sys, attempt, where = *where] {
    attempt->set_value(caf::openssl::remote_actor(sys, where.first, where.second));
  }}.detach();
  if (got.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    return make_error(errc::unavailable, "no TLS answer from " + address + " within 10 s");
  auto h = got.get();
  if (!h)
    return make_error(errc::unavailable, "cannot connect to " + address + ": " + sys.render(h.error()));
  return *h;
}

template <class... Ts>
result<wire_reply> ask(caf::scoped_actor& self, const caf::actor& dest, std::chrono::seconds within, Ts... xs) {
  result<wire_reply> out = make_error(errc::unavailable, "no answer");
  self->request(dest, within, xs...)
    .receive(
      [&](wire_reply& r) {
        if (r.error.code != 0)
          out = from_wire(r.error);
        else
          out = std::move(r);
      },
      [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  return out;
}

/// What one node process keeps between connections.
struct node_session {
  wire_registration reg;
  std::string token;
  std::string credential_file;
  std::string credential;
  caf::actor agent;
};

/// Says hello with the stored credential, or joins with the token. An error that is not
/// unavailable ends the node (the operator must act: a new token, a removed node).
result<void> admit(caf::scoped_actor& self, const caf::actor& gateway, node_session& s) {
  if (!s.credential.empty()) {
    auto hello = ask(self, gateway, std::chrono::seconds(30), hello_atom::value, s.reg, s.credential, s.agent);
    if (hello || hello.err().code != errc::unauthorized || s.token.empty())
      return hello ? result<void>{} : result<void>{hello.err()};
  }
  if (s.token.empty())
    return make_error(errc::invalid_argument, "this node has not joined yet: pass --token (aetherium admin node-token)",
                      "token");
  auto joined = ask(self, gateway, std::chrono::seconds(30), join_atom::value, s.reg, s.token, s.agent);
  if (!joined)
    return joined.err();
  s.credential = joined->text;
  auto tmp = s.credential_file + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << s.credential << "\n";
    if (!out)
      return make_error(errc::unavailable, "cannot write " + tmp);
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(tmp, s.credential_file);
  return {};
}

/// Stops on purpose while connected: drained first, so the sandboxes running here finish
/// (up to `grace`, or until a second signal), then down as "stopped" — not a loss.
void stop_gracefully(caf::scoped_actor& self, const caf::actor& gateway, const node_session& s,
                     std::chrono::seconds grace) {
  auto drained = ask(self, gateway, std::chrono::seconds(30), leave_atom::value, s.reg.node, s.credential, false);
  if (!drained) {
    log(log_level::warn, "the control plane did not drain this node", {{"reason", drained.err().detail}});
    return;
  }
  std::cout << "aetherium node " << s.reg.node << " draining" << std::endl;
  auto until = std::chrono::steady_clock::now() + grace;
  while (!node_stop_now && std::chrono::steady_clock::now() < until) {
    auto held = ask(self, s.agent, std::chrono::seconds(30), list_atom::value);
    if (held && held->sandboxes.empty())
      break;
    // Still beating: a draining node that fell silent would be lost with what it runs.
    if (auto beat = ask(self, gateway, std::chrono::seconds(5), beat_atom::value, s.reg.node, s.credential); !beat) {
      log(log_level::warn, "the control plane stopped answering while this node drained", {{"reason", beat.err().detail}});
      return;
    }
    self->receive(caf::after(std::chrono::seconds(1)) >> [] {});
  }
  (void)ask(self, gateway, std::chrono::seconds(30), leave_atom::value, s.reg.node, s.credential, true);
}

/// Beats every second until the gateway stops answering or the node is told to stop; true
/// when it is still connected.
bool beat_until_lost(caf::scoped_actor& self, const caf::actor& gateway, const node_session& s) {
  self->monitor(gateway);
  bool lost = false;
  while (!node_stop && !lost) {
    auto beat = ask(self, gateway, std::chrono::seconds(5), beat_atom::value, s.reg.node, s.credential);
    if (!beat) {
      log(log_level::warn, "heartbeat refused; connecting again", {{"reason", beat.err().detail}});
      break;
    }
    self->receive([&](caf::down_msg&) { lost = true; }, caf::after(std::chrono::seconds(1)) >> [] {});
  }
  self->demonitor(gateway);
  return !lost;
}

int run_joined(const command_line& cmd, const config& cfg) {
  auto addresses = split_list(setting(cmd, "join", "AETHERIUM_JOIN"));
  if (addresses.empty())
    return usage_error("node needs --join HOST:PORT (the control plane's --node-listen)");
  for (auto& a : addresses)
    if (auto ok = host_port(a); !ok)
      return usage_error(ok.err().detail);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  node_session s;
  s.reg.node = setting(cmd, "name", "AETHERIUM_NODE_NAME", host);
  s.token = setting(cmd, "token", "AETHERIUM_NODE_TOKEN");
  node_tls tls{cfg.node_tls_cert, cfg.node_tls_key, cfg.node_ca};
  if (tls.cert.empty() && tls.ca.empty())
    for (auto& a : addresses)
      if (!loopback_only(a))
        return usage_error("joining " + a + " needs --node-tls-cert, --node-tls-key and --node-ca (the cluster CA)");
  auto data = fs::absolute(cfg.data_dir).string();
  std::error_code ec;
  fs::create_directories(data, ec);
  s.credential_file = data + "/node-credential";
  if (std::ifstream in{s.credential_file}; in)
    std::getline(in, s.credential);
  auto local = open_local_runtimes(cfg, data);
  if (!local) {
    std::cerr << "aetherium: " << local.err().detail << "\n";
    return local.err().code == errc::invalid_argument ? exit_usage : exit_failure;
  }
  auto slots = static_cast<std::uint32_t>(std::max(1, std::atoi(cfg.max_tasks.c_str())));
  // As the server's own node: agents mostly wait on their model, so the slots bound a node.
  s.reg.cpu_millis = host_cpus() * 1000 * slots;
  s.reg.memory_bytes = host_memory_bytes();
  s.reg.sandbox_slots = slots;
  s.reg.runtimes = local->offered;
  auto timeout = static_cast<std::uint32_t>(std::max(1, std::atoi(cfg.node_timeout.c_str())));
  auto grace_text = setting(cmd, "drain-timeout", "AETHERIUM_NODE_DRAIN_TIMEOUT", "600");
  if (grace_text.empty() || grace_text.size() > 6 || grace_text.find_first_not_of("0123456789") != std::string::npos)
    return usage_error("--drain-timeout must be a whole number of seconds");
  std::chrono::seconds grace{std::atoi(grace_text.c_str())};
  actors::system_config caf_cfg;
  if (auto ok = prepare_node_network(caf_cfg, tls, timeout); !ok) {
    std::cerr << "aetherium: " << ok.err().detail << "\n";
    return exit_usage;
  }
  caf::actor_system sys{caf_cfg};
  s.agent = spawn_node_agent(sys, {local->sandboxes, local->image, data + "/workspaces", 1ull << 30});
  caf::scoped_actor self{sys};
  auto on_signal = [](int sig) {
    if (node_stop)
      node_stop_now = sig;
    node_stop = sig;
  };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  int rc = exit_ok;
  while (!node_stop) {
    for (auto& address : addresses) {
      if (node_stop)
        break;
      auto gateway = connect(sys, address);
      if (!gateway) {
        log(log_level::warn, "control plane not reached", {{"address", address}, {"reason", gateway.err().detail}});
        continue;
      }
      // Reconnecting means the control plane lost this node: the tasks of the sandboxes it
      // still holds have ended (node_lost, or a control-plane restart). Nothing of them is kept.
      if (auto left = ask(self, s.agent, std::chrono::minutes(2), leave_atom::value); !left)
        log(log_level::warn, "sandboxes of lost tasks not all destroyed", {{"reason", left.err().detail}});
      auto admitted = admit(self, *gateway, s);
      if (!admitted && admitted.err().code != errc::unavailable) {
        std::cerr << "aetherium: " << to_string(admitted.err().code) << ": " << admitted.err().detail << "\n";
        node_stop = SIGTERM;
        rc = exit_failure;
        break;
      }
      if (!admitted) {
        log(log_level::warn, "control plane did not take this node", {{"address", address}, {"reason", admitted.err().detail}});
        continue;
      }
      std::cout << "aetherium node " << s.reg.node << " joined " << address << " offering";
      for (auto& r : s.reg.runtimes)
        std::cout << " " << r;
      std::cout << std::endl;
      if (beat_until_lost(self, *gateway, s) && node_stop)
        stop_gracefully(self, *gateway, s, grace);
      if (!node_stop)
        std::cout << "aetherium node " << s.reg.node << " lost " << address << "; connecting again" << std::endl;
    }
    if (!node_stop)
      self->receive(caf::after(std::chrono::seconds(1)) >> [] {});
  }
  (void)ask(self, s.agent, std::chrono::minutes(1), leave_atom::value);
  std::cout << "aetherium node " << s.reg.node << " stopped" << std::endl;
  self->send_exit(s.agent, caf::exit_reason::user_shutdown);
  std::cout.flush();
  std::_Exit(rc);
}

} // namespace

int run_node(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() == 1)
    return run_joined(cmd, cfg);
  return run_node_admin(cmd, cfg);
}

} // namespace aetherium::runtime
