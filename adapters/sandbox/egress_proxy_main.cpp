// aetherium-egress-proxy: the HTTP proxy of one allow-list sandbox.
//
// Started by the sandbox adapter with `--config <file>` (see egress_request.hpp) on the
// host end of the sandbox's veth pair, the only thing the sandbox can reach. It serves
// absolute-URI HTTP requests and CONNECT to port 443 for host names on the allow list.
// It resolves each name itself (with the configured hosts file only, or the host's
// resolver), refuses the request when any address is not public and not in an operator
// range (egress_policy.hpp), and connects to the checked addresses: a name is resolved
// once, so a second answer (DNS rebinding) never reaches a socket. Refusals are HTTP 403
// with the reason in the body.
//
// With a gateway in its settings it also listens on a second port of the same address and
// relays each connection there, byte for byte in both directions (half closes passed on),
// to the sandbox's gateway socket on the host, through the connector (gateway_connector.hpp).
//
// Binds as root, then runs as nobody without privileges; a thread per connection, at
// most 64 at once, each ended after 10 idle minutes. Logs one line per request to stderr.
#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <system_error>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/egress_request.hpp"
#include "adapters/sandbox/gateway_connector.hpp"
#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {
namespace {

constexpr std::size_t max_head_bytes = 16 * 1024;
constexpr int max_connections = 64;
constexpr int head_timeout_ms = 30 * 1000;
constexpr int connect_timeout_ms = 10 * 1000;
constexpr int idle_timeout_ms = 600 * 1000;

/// What every connection reads; fixed once the proxy listens.
struct proxy_state {
  egress_proxy_config config;
  std::vector<cidr> ranges;
  bool use_hosts_file = false;
  std::string hosts_text;
  std::atomic<int> active{0};
  unique_fd gateway;      ///< The connector's channel; invalid without a gateway.
  std::mutex gateway_mu;  ///< One request on the channel at a time.
};

/// Writes one line to the log; bytes a sandbox chose cannot start another line.
void log_line(const std::string& text) {
  std::string line = "aetherium-egress-proxy: " + text;
  for (auto& ch : line)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  line += "\n";
  (void)!::write(2, line.data(), line.size());
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads up to the empty line ending the request head; bytes after it go to `rest`.
/// Errors: invalid_argument (too large), unavailable (closed or too slow).
result<std::string> read_head(int fd, std::string& rest) {
  std::string data;
  char buf[4096];
  for (;;) {
    for (const char* end : {"\r\n\r\n", "\n\n"}) {
      auto at = data.find(end);
      if (at == std::string::npos) continue;
      rest = data.substr(at + std::strlen(end));
      data.resize(at + std::strlen(end));
      return data;
    }
    if (data.size() > max_head_bytes) return make_error(errc::invalid_argument, "request head too large");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, head_timeout_ms) <= 0) return make_error(errc::unavailable, "no request in time");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return make_error(errc::unavailable, "closed before the request ended");
    data.append(buf, static_cast<std::size_t>(n));
  }
}

/// Every address `host` has: in the hosts file when one is set, otherwise from the resolver.
std::vector<ip_address> resolve(const proxy_state& state, const std::string& host) {
  if (state.use_hosts_file) return hosts_file_lookup(state.hosts_text, host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  std::vector<ip_address> addresses;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return addresses;
  for (auto* ai = found; ai; ai = ai->ai_next) {
    ip_address a;
    a.v6 = ai->ai_family == AF_INET6;
    if (ai->ai_family == AF_INET)
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
    else if (a.v6)
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
    else
      continue;
    addresses.push_back(a);
  }
  ::freeaddrinfo(found);
  return addresses;
}

/// A blocking socket connected to `address`, or an invalid one.
unique_fd connect_one(const ip_address& address, std::uint16_t port) {
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (address.v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    std::memcpy(&sa->sin6_addr, address.bytes.data(), 16);
    len = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    std::memcpy(&sa->sin_addr, address.bytes.data(), 4);
    len = sizeof *sa;
  }
  unique_fd s(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return s;
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    pollfd p{s.get(), POLLOUT, 0};
    int err = 0;
    socklen_t err_len = sizeof err;
    if (errno != EINPROGRESS || ::poll(&p, 1, connect_timeout_ms) <= 0 ||
        ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err != 0)
      return unique_fd();
  }
  ::fcntl(s.get(), F_SETFL, ::fcntl(s.get(), F_GETFL) & ~O_NONBLOCK);
  return s;
}

/// What ends a relay besides an error or both sides idling too long.
enum class relay_end {
  upstream_done, ///< The upstream's end of output ends it all (proxied requests).
  both_done,     ///< Each side's end of output is passed on as a half close (the gateway).
};

/// Copies both ways. The client's end of output is passed on to the upstream as a half close.
void relay(int client, int upstream, relay_end end) {
  const int ends[2] = {client, upstream};
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  char buf[16384];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds, 2, idle_timeout_ms) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::recv(ends[i], buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && send_all(ends[1 - i], std::string_view(buf, static_cast<std::size_t>(n)))) continue;
      if (n != 0) return; // a reset, or a write failed
      if (i == 1 && end == relay_end::upstream_done) return;
      ::shutdown(ends[1 - i], SHUT_WR);
      fds[i].fd = -1;
    }
  }
}

void refuse(int client, const char* status, const std::string& what, const std::string& reason) {
  log_line("refused " + what + ": " + reason);
  send_all(client, error_response(status, reason));
}

/// Handles the one request of a connection, from head to the end of the relay.
void serve(const proxy_state& state, unique_fd client) {
  std::string rest;
  auto head = read_head(client.get(), rest);
  if (!head) {
    if (head.err().code == errc::invalid_argument) refuse(client.get(), "400 Bad Request", "request", head.err().detail);
    return;
  }
  auto request = parse_proxy_request(*head);
  if (!request) return refuse(client.get(), "400 Bad Request", "request", request.err().detail);
  std::string what = request->method + " " + request->host + ":" + std::to_string(request->port);
  if (auto allowed = check_request(*request, state.config.allowed_hosts); !allowed)
    return refuse(client.get(), "403 Forbidden", what, allowed.err().detail);
  auto addresses = resolve(state, request->host);
  if (auto allowed = check_addresses(request->host, addresses, state.ranges); !allowed) {
    bool forbidden = allowed.err().code == errc::forbidden;
    return refuse(client.get(), forbidden ? "403 Forbidden" : "502 Bad Gateway", what, allowed.err().detail);
  }
  unique_fd upstream;
  for (const auto& address : addresses)
    if ((upstream = connect_one(unmapped(address), request->port)).valid()) break;
  if (!upstream.valid())
    return refuse(client.get(), "502 Bad Gateway", what, "cannot connect to " + request->host);
  log_line("allowed " + what);
  bool sent = request->tunnel ? send_all(client.get(), "HTTP/1.1 200 Connection established\r\n\r\n")
                              : send_all(upstream.get(), request->upstream_head);
  if (sent && send_all(upstream.get(), rest)) relay(client.get(), upstream.get(), relay_end::upstream_done);
}

/// Relays a connection to the gateway port to the gateway socket, reading nothing of it.
void serve_gateway(proxy_state& state, unique_fd client) {
  result<unique_fd> upstream = make_error(errc::unavailable, "no gateway");
  {
    std::lock_guard<std::mutex> lock(state.gateway_mu);
    upstream = connect_gateway(state.gateway.get());
  }
  if (!upstream) {
    log_line("gateway unreachable: " + upstream.err().detail);
    send_all(client.get(), error_response("502 Bad Gateway", "the model gateway is not reachable"));
    return;
  }
  relay(client.get(), upstream->get(), relay_end::both_done);
}

result<unique_fd> listen_on(const std::string& listen_address, std::uint16_t port) {
  unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int on = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  auto address = parse_ip(listen_address);
  std::memcpy(&addr.sin_addr, address->bytes.data(), 4);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.get(), 128) != 0)
    return make_error(errc::unavailable, "listen on " + listen_address + ":" + std::to_string(port) + ": " +
                                             std::strerror(errno));
  return s;
}

/// The proxy's listener, and the gateway's (invalid without a gateway).
struct listeners {
  unique_fd proxy;
  unique_fd gateway;
};

/// Becomes nobody (group nogroup) for good, when started as root.
result<void> drop_privileges() {
  if (::geteuid() != 0) return {};
  const passwd* user = ::getpwnam("nobody");
  if (!user) return make_error(errc::unavailable, "no user nobody");
  uid_t uid = user->pw_uid;
  gid_t gid = user->pw_gid;
  if (const group* g = ::getgrnam("nogroup")) gid = g->gr_gid;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0)
    return make_error(errc::unavailable, std::string("cannot become nobody: ") + std::strerror(errno));
  if (::setuid(0) == 0) return make_error(errc::internal, "could become root again");
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return {};
}

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::unavailable, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Reads the settings and the hosts file, starts the gateway connector, listens and drops
/// privileges. The gateway listens first: the adapter waits for the proxy's port only.
result<listeners> start(const std::string& config_path, proxy_state& state) {
  auto text = read_file(config_path);
  if (!text) return text.err();
  auto config = parse_proxy_config(*text);
  if (!config) return config.err();
  state.config = *config;
  auto ranges = parse_cidrs(config->allowed_private_ranges);
  if (!ranges) return ranges.err();
  state.ranges = *ranges;
  state.use_hosts_file = !config->hosts_file.empty();
  if (state.use_hosts_file) {
    auto hosts = read_file(config->hosts_file);
    if (!hosts) return hosts.err();
    state.hosts_text = *hosts;
  }
  listeners out;
  if (!config->gateway_socket.empty()) {
    auto connector = start_gateway_connector(config->gateway_socket);
    if (!connector) return connector.err();
    state.gateway = std::move(*connector);
    auto gateway = listen_on(config->listen_address, config->gateway_port);
    if (!gateway) return gateway.err();
    out.gateway = std::move(*gateway);
  }
  auto proxy = listen_on(config->listen_address, config->port);
  if (!proxy) return proxy.err();
  out.proxy = std::move(*proxy);
  if (auto dropped = drop_privileges(); !dropped) return dropped.err();
  return out;
}

/// Serves `client` on a thread of its own, or refuses it when too many are served.
void dispatch(proxy_state& state, unique_fd client, bool gateway) {
  if (state.active.load() >= max_connections) {
    send_all(client.get(), error_response("503 Service Unavailable", "too many connections"));
    return;
  }
  ++state.active;
  try {
    std::thread([&state, fd = client.get(), gateway] {
      if (gateway) serve_gateway(state, unique_fd(fd));
      else serve(state, unique_fd(fd));
      --state.active;
    }).detach();
    client.release();
  } catch (const std::system_error&) {
    --state.active;
    send_all(client.get(), error_response("503 Service Unavailable", "out of threads"));
  }
}

} // namespace
} // namespace aetherium::sandbox

int main(int argc, char** argv) {
  using namespace aetherium::sandbox;
  if (argc != 3 || std::string(argv[1]) != "--config") {
    log_line("usage: aetherium-egress-proxy --config FILE");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  static proxy_state state;
  auto listening = start(argv[2], state);
  if (!listening) {
    log_line(listening.err().detail);
    return 1;
  }
  pollfd fds[2] = {{listening->proxy.get(), POLLIN, 0}, {listening->gateway.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      unique_fd client(::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC));
      if (!client.valid()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // e.g. out of descriptors
        continue;
      }
      dispatch(state, std::move(client), i == 1);
    }
  }
}
