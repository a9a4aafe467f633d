#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sandbox/egress_policy.hpp"
#include "events/result.hpp"

// The allow-list proxy's protocol side, as pure functions: its settings file, request
// heads, hosts files and the decision on each request.

namespace aetherium::sandbox {

/// What one aetherium-egress-proxy serves; written by the adapter, read by the proxy.
struct egress_proxy_config {
  std::string listen_address;       ///< IPv4 address of the host end of the veth.
  std::uint16_t port = 3128;
  std::vector<std::string> allowed_hosts;          ///< As valid_allowed_host accepts.
  std::vector<std::string> allowed_private_ranges; ///< CIDRs, see may_connect.
  std::string hosts_file;           ///< Non-empty: names resolve with this file only.
  /// Non-empty: the proxy also listens on `listen_address`:`gateway_port` and relays each
  /// connection there byte for byte to this host UNIX socket (see valid_gateway_socket).
  std::string gateway_socket;
  std::uint16_t gateway_port = 3129;
};

/// Whether `path` can name a gateway socket: absolute, fits sockaddr_un, no control
/// characters (it is one line of the settings file).
bool valid_gateway_socket(const std::string& path);

/// The settings as text, one "key value" per line.
std::string format_proxy_config(const egress_proxy_config& config);

/// Reads what format_proxy_config wrote. Errors: invalid_argument (unknown key, bad host,
/// bad range, bad listen address or gateway, or neither an allowed host nor a gateway:
/// an empty allow list is valid only beside a gateway).
result<egress_proxy_config> parse_proxy_config(const std::string& text);

/// A request a sandbox sent its proxy.
struct proxy_request {
  bool tunnel = false;     ///< CONNECT host:port.
  std::string method;
  std::string host;        ///< As given (no brackets); check with host_matches.
  std::uint16_t port = 0;
  /// Plain HTTP: the head to send the origin (origin-form target, the sandbox's Host,
  /// proxy and hop-by-hop headers dropped, "Connection: close"). Empty for CONNECT.
  std::string upstream_head;
};

/// Parses a request head: the request line and headers, ending with an empty line.
/// Accepts CONNECT host:port and absolute http:// URIs. Errors: invalid_argument with a
/// reason the client is told (HTTP 400).
result<proxy_request> parse_proxy_request(std::string_view head);

/// Whether the request's destination name may be looked up at all: not an IP literal, on
/// the allow list, and CONNECT to port 443 only. Errors: forbidden with the reason.
result<void> check_request(const proxy_request& request, const std::vector<std::string>& allowed_hosts);

/// Whether the proxy may connect to every address `host` resolved to (one refused
/// address refuses the name). Errors: forbidden naming the address and its class;
/// unavailable when there is no address.
result<void> check_addresses(const std::string& host, const std::vector<ip_address>& addresses,
                             const std::vector<cidr>& operator_ranges);

/// The addresses `hosts_text` (hosts(5) format) gives `name`, case-insensitively, in file
/// order and without repeats.
std::vector<ip_address> hosts_file_lookup(const std::string& hosts_text, const std::string& name);

/// A whole HTTP/1.1 response that closes the connection; `status` e.g. "403 Forbidden",
/// `reason` the plain-text body.
std::string error_response(const std::string& status, const std::string& reason);

} // namespace aetherium::sandbox
