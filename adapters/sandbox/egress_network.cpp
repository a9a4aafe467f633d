#include "adapters/sandbox/egress_network.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "adapters/sandbox/egress_request.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr int proxy_port = 3128;
constexpr int gateway_port = 3129;
constexpr int slot_count = 4096; ///< /30 networks in 169.254.64.0/18.

/// Rules that keep sandboxes off every host port except their own proxy, and off
/// forwarding. One table for all sandboxes, matched by interface name prefix:
/// - a packet to any address but the one on the interface it came in by is dropped, so a
///   sandbox that found a route to another sandbox's host end (whose proxy would relay to
///   that sandbox's gateway) still cannot reach it;
/// - a connection to the proxy and gateway ports is opened only to a socket bound to that
///   address, the proxy's: a host service listening on a wildcard address at those ports
///   stays out of reach. The check is on the opening SYN (the handshake's last ACK meets a
///   half-open request socket, which `socket` does not describe); the other segments to
///   those ports pass and reach only connections whose SYN passed (strays get a reset).
constexpr const char* nft_rules =
    "table inet aetherium_egress\n"
    "delete table inet aetherium_egress\n"
    "table inet aetherium_egress {\n"
    "  chain input {\n"
    "    type filter hook input priority -10; policy accept;\n"
    "    iifname \"aeh*\" fib daddr . iif type != local drop\n"
    "    iifname \"aeh*\" tcp dport { 3128, 3129 } tcp flags & (syn | ack) == syn socket wildcard 0 accept\n"
    "    iifname \"aeh*\" tcp dport { 3128, 3129 } tcp flags & (syn | ack) != syn accept\n"
    "    iifname \"aeh*\" drop\n"
    "  }\n"
    "  chain forward {\n"
    "    type filter hook forward priority -10; policy accept;\n"
    "    iifname \"aeh*\" drop\n"
    "    oifname \"aeh*\" drop\n"
    "  }\n"
    "}\n";

std::string host_ifname(const std::string& id) { return "aeh" + id.substr(3); }

std::string slot_address(int slot, int host_part) {
  return "169.254." + std::to_string(64 + slot / 64) + "." + std::to_string((slot % 64) * 4 + host_part);
}

result<void> ip(const egress_tools& tools, std::vector<std::string> args) {
  process_request r;
  r.argv = {tools.ip};
  r.argv.insert(r.argv.end(), args.begin(), args.end());
  r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto ran = run_captured(r);
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    return make_error(errc::unavailable, "ip" + cmd + ": " + ran->err);
  }
  return {};
}

result<void> install_firewall(const egress_tools& tools) {
  static std::mutex mu;
  static bool installed = false;
  std::lock_guard<std::mutex> lock(mu);
  if (installed) return {};
  process_request r;
  r.argv = {tools.nft, "-f", "-"};
  r.stdin_data = nft_rules;
  r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto ran = run_captured(r);
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0) return make_error(errc::unavailable, "nft: " + ran->err);
  installed = true;
  return {};
}

/// Claims a free /30 by creating its slot file exclusively; the file names the owner.
result<int> claim_slot(const std::string& egress_root, const std::string& id) {
  fs::create_directories(egress_root + "/slots");
  int start = static_cast<int>(std::hash<std::string>{}(id) % slot_count);
  for (int i = 0; i < slot_count; ++i) {
    int slot = (start + i) % slot_count;
    std::string path = egress_root + "/slots/" + std::to_string(slot);
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) continue;
    (void)!::write(fd.get(), id.data(), id.size());
    return slot;
  }
  return make_error(errc::unavailable, "no free egress network slot");
}

void release_slots(const std::string& egress_root, const std::string& id) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(egress_root + "/slots", ec)) {
    std::ifstream in(entry.path());
    std::string owner;
    std::getline(in, owner);
    if (owner == id) fs::remove(entry.path(), ec);
  }
}

std::string proxy_config_path(const std::string& dir) { return dir + "/egress-proxy.conf"; }

/// Polls until the proxy accepts connections (or exits, or 5 s pass).
result<void> wait_for_proxy(pid_t pid, const std::string& address) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(proxy_port);
  ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return {};
    if (::waitpid(pid, nullptr, WNOHANG) == pid)
      return make_error(errc::unavailable, "the egress proxy exited at start (see its log)");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return make_error(errc::unavailable, "the egress proxy did not start listening");
}

result<pid_t> start_proxy(const egress_tools& tools, const std::string& dir,
                          const std::string& listen, const std::vector<std::string>& hosts,
                          const std::string& gateway_socket) {
  egress_proxy_config config;
  config.listen_address = listen;
  config.port = proxy_port;
  config.allowed_hosts = hosts;
  config.gateway_socket = gateway_socket;
  config.gateway_port = gateway_port;
  config.allowed_private_ranges = tools.allowed_private_ranges;
  config.hosts_file = tools.hosts_file;
  std::ofstream(proxy_config_path(dir)) << format_proxy_config(config);
  ::chmod(proxy_config_path(dir).c_str(), 0600); // read before the proxy drops root
  process_request r;
  r.argv = {tools.proxy, "--config", proxy_config_path(dir)};
  auto pid = spawn_daemon(r, dir + "/egress-proxy.log");
  if (!pid) return pid;
  std::ofstream(dir + "/proxy.pid") << *pid;
  if (auto up = wait_for_proxy(*pid, listen); !up) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    std::ifstream log(dir + "/egress-proxy.log");
    std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return make_error(errc::unavailable, up.err().detail + ": " + said.substr(said.size() > 500 ? said.size() - 500 : 0));
  }
  return pid;
}

/// Kills the proxy recorded in `dir`, after checking the pid still runs our config.
void stop_proxy(const std::string& dir) {
  std::ifstream in(dir + "/proxy.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  bool ours = args.find(std::string("--config") + '\0' + proxy_config_path(dir) + '\0') != std::string::npos;
  bool legacy = args.find(dir + "/tinyproxy.conf") != std::string::npos; // started before the upgrade
  if (!ours && !legacy) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0); // Reaps it when this process started it; ECHILD otherwise.
}

result<void> wire_namespace(const egress_tools& tools, const std::string& id, int slot) {
  std::string host_if = host_ifname(id);
  std::string host_cidr = slot_address(slot, 1) + "/30";
  std::string sandbox_cidr = slot_address(slot, 2) + "/30";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"netns", "add", id},
           {"link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", id},
           {"link", "set", host_if, "addrgenmode", "none"},
           {"-n", id, "link", "set", "eth0", "addrgenmode", "none"},
           {"addr", "add", host_cidr, "dev", host_if},
           {"-n", id, "addr", "add", sandbox_cidr, "dev", "eth0"},
           {"link", "set", host_if, "up"},
           {"-n", id, "link", "set", "eth0", "up"},
           {"-n", id, "link", "set", "lo", "up"},
       }) {
    if (auto done = ip(tools, args); !done) return done;
  }
  return {};
}

} // namespace

std::string egress_netns_path(const std::string& id) { return "/run/netns/" + id; }

result<egress_setup> setup_egress(const egress_tools& tools, const std::string& id,
                                  const std::string& egress_root,
                                  const std::vector<std::string>& allowed_hosts,
                                  const std::string& gateway_socket) {
  if (!gateway_socket.empty() && !valid_gateway_socket(gateway_socket))
    return make_error(errc::invalid_argument, "bad gateway socket path", "gateway_socket");
  for (const auto* tool : {&tools.ip, &tools.proxy, &tools.nft})
    if (tool->empty())
      return make_error(errc::unavailable, "allow-list networks need ip, nft and aetherium-egress-proxy",
                        "network");
  if (auto fw = install_firewall(tools); !fw) return fw.err();
  std::string dir = egress_root + "/" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  ::chmod(egress_root.c_str(), 0700);
  ::chmod(dir.c_str(), 0700);
  auto slot = claim_slot(egress_root, id);
  if (!slot) return slot.err();
  if (auto wired = wire_namespace(tools, id, *slot); !wired) return wired.err();
  std::string host_end = slot_address(*slot, 1);
  auto proxy = start_proxy(tools, dir, host_end, allowed_hosts, gateway_socket);
  if (!proxy) return proxy.err();
  egress_setup setup{"http://" + host_end + ":" + std::to_string(proxy_port), {}};
  if (!gateway_socket.empty()) setup.gateway_url = "http://" + host_end + ":" + std::to_string(gateway_port);
  return setup;
}

result<void> teardown_egress(const egress_tools& tools, const std::string& id,
                             const std::string& egress_root) {
  std::string dir = egress_root + "/" + id;
  stop_proxy(dir);
  if (!tools.ip.empty()) {
    (void)ip(tools, {"link", "del", host_ifname(id)});
    (void)ip(tools, {"netns", "del", id});
  }
  if (fs::exists(egress_netns_path(id)))
    return make_error(errc::unavailable, "network namespace " + id + " is still there");
  release_slots(egress_root, id);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return {};
}

} // namespace aetherium::sandbox
