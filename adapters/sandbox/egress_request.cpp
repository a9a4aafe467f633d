#include "adapters/sandbox/egress_request.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <sys/un.h>
#include <tuple>
#include <utility>

namespace aetherium::sandbox {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t") - first + 1));
}

error bad_request(std::string reason) { return make_error(errc::invalid_argument, std::move(reason)); }

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char ch : text)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos)
      return false;
  return true;
}

/// Port digits, 1 to 65535.
result<std::uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return bad_request("bad port '" + std::string(digits) + "'");
  int port = std::stoi(std::string(digits));
  if (port < 1 || port > 65535) return bad_request("bad port '" + std::string(digits) + "'");
  return static_cast<std::uint16_t>(port);
}

/// host[:port] or [v6]:port; `default_port` 0 makes the port required.
result<std::pair<std::string, std::uint16_t>> parse_authority(std::string_view text, std::uint16_t default_port) {
  if (text.find('@') != std::string_view::npos) return bad_request("user information in the URI is refused");
  std::string_view host = text, port;
  bool has_port = false;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad_request("bad address in the URI");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return bad_request("bad address in the URI");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return bad_request("no host in the request");
  if (!has_port && default_port == 0) return bad_request("CONNECT needs host:port");
  if (!has_port) return std::make_pair(std::string(host), default_port);
  auto number = parse_port(port);
  if (!number) return number.err();
  return std::make_pair(std::string(host), *number);
}

/// The head's lines without their line ends, up to the empty line.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    auto end = head.find('\n');
    std::string_view line = head.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    head.remove_prefix(end + 1);
  }
  return lines;
}

/// Headers the proxy consumes or that concern only one hop; plus those `Connection` names.
bool hop_by_hop(const std::string& name, const std::vector<std::string>& connection_names) {
  static const char* fixed[] = {"host", "connection", "proxy-connection", "keep-alive", "proxy-authorization",
                                "proxy-authenticate", "te", "trailer", "upgrade"};
  for (const char* f : fixed)
    if (name == f) return true;
  return std::find(connection_names.begin(), connection_names.end(), name) != connection_names.end();
}

/// The headers to pass on, each "Name: value\r\n". Errors: invalid_argument.
result<std::string> forwarded_headers(const std::vector<std::string_view>& lines) {
  std::vector<std::pair<std::string, std::string_view>> headers;
  std::vector<std::string> connection_names;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto line = lines[i];
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return bad_request("malformed header line");
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
      return bad_request("control characters in a header");
    std::string name = lower(line.substr(0, colon));
    if (name == "connection") {
      std::istringstream tokens{std::string(line.substr(colon + 1))};
      for (std::string token; std::getline(tokens, token, ',');) connection_names.push_back(lower(trimmed(token)));
    }
    headers.emplace_back(std::move(name), line);
  }
  std::string out;
  for (const auto& [name, line] : headers)
    if (!hop_by_hop(name, connection_names)) out.append(line).append("\r\n");
  return out;
}

/// The origin-form target of an absolute URI's remainder ("/p?q#f" -> "/p?q").
std::string origin_target(std::string_view rest) {
  rest = rest.substr(0, rest.find('#'));
  if (rest.empty()) return "/";
  return rest[0] == '/' ? std::string(rest) : "/" + std::string(rest);
}

} // namespace

std::string format_proxy_config(const egress_proxy_config& config) {
  std::string out = "listen " + config.listen_address + ":" + std::to_string(config.port) + "\n";
  for (const auto& host : config.allowed_hosts) out += "allow-host " + host + "\n";
  for (const auto& range : config.allowed_private_ranges) out += "allow-private " + range + "\n";
  if (!config.hosts_file.empty()) out += "hosts-file " + config.hosts_file + "\n";
  if (!config.gateway_socket.empty())
    out += "gateway " + std::to_string(config.gateway_port) + " " + config.gateway_socket + "\n";
  return out;
}

bool valid_gateway_socket(const std::string& path) {
  constexpr std::size_t sun_path_size = sizeof(sockaddr_un{}.sun_path);
  if (path.empty() || path[0] != '/' || path.size() >= sun_path_size) return false;
  return std::none_of(path.begin(), path.end(),
                      [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

result<egress_proxy_config> parse_proxy_config(const std::string& text) {
  egress_proxy_config config;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto space = line.find(' ');
    std::string key = line.substr(0, space);
    std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "listen") {
      auto colon = value.rfind(':');
      auto address = parse_ip(value.substr(0, colon));
      auto port = parse_port(colon == std::string::npos ? "" : std::string_view(value).substr(colon + 1));
      if (!address || address->v6 || !port) return bad_request("bad listen address '" + value + "'");
      config.listen_address = value.substr(0, colon);
      config.port = *port;
    } else if (key == "allow-host") {
      if (!valid_allowed_host(value)) return bad_request("bad allowed host '" + value + "'");
      config.allowed_hosts.push_back(value);
    } else if (key == "allow-private") {
      if (auto range = parse_cidr(value); !range) return range.err();
      config.allowed_private_ranges.push_back(value);
    } else if (key == "hosts-file") {
      config.hosts_file = value;
    } else if (key == "gateway") {
      auto space_at = value.find(' ');
      auto port = parse_port(std::string_view(value).substr(0, space_at));
      std::string path = space_at == std::string::npos ? "" : value.substr(space_at + 1);
      if (!port || !valid_gateway_socket(path)) return bad_request("bad gateway '" + value + "'");
      config.gateway_port = *port;
      config.gateway_socket = path;
    } else {
      return bad_request("unknown setting '" + key + "'");
    }
  }
  if (config.listen_address.empty()) return bad_request("no listen address");
  if (config.allowed_hosts.empty() && config.gateway_socket.empty()) return bad_request("no allowed host");
  if (!config.gateway_socket.empty() && config.gateway_port == config.port)
    return bad_request("the gateway needs a port of its own");
  return config;
}

result<proxy_request> parse_proxy_request(std::string_view head) {
  auto lines = head_lines(head);
  if (lines.empty()) return bad_request("empty request");
  std::string_view request_line = lines[0];
  auto first = request_line.find(' ');
  auto second = first == std::string_view::npos ? first : request_line.find(' ', first + 1);
  if (second == std::string_view::npos || request_line.find(' ', second + 1) != std::string_view::npos)
    return bad_request("malformed request line");
  std::string_view method = request_line.substr(0, first);
  std::string_view target = request_line.substr(first + 1, second - first - 1);
  std::string_view version = request_line.substr(second + 1);
  if (!is_token(method) || (version != "HTTP/1.1" && version != "HTTP/1.0"))
    return bad_request("malformed request line");
  proxy_request request;
  request.method = std::string(method);
  if (method == "CONNECT") {
    auto authority = parse_authority(target, 0);
    if (!authority) return authority.err();
    request.tunnel = true;
    std::tie(request.host, request.port) = *authority;
    return request;
  }
  if (lower(target.substr(0, 7)) != "http://")
    return bad_request("only absolute http:// URIs and CONNECT are proxied");
  std::string_view rest = target.substr(7);
  auto path_start = std::min(rest.find_first_of("/?#"), rest.size());
  auto authority = parse_authority(rest.substr(0, path_start), 80);
  if (!authority) return authority.err();
  std::tie(request.host, request.port) = *authority;
  auto headers = forwarded_headers(lines);
  if (!headers) return headers.err();
  std::string host_header = lower(request.host) + (request.port == 80 ? "" : ":" + std::to_string(request.port));
  request.upstream_head = request.method + " " + origin_target(rest.substr(path_start)) + " " +
                          std::string(version) + "\r\nHost: " + host_header + "\r\n" + *headers +
                          "Connection: close\r\n\r\n";
  return request;
}

result<void> check_request(const proxy_request& request, const std::vector<std::string>& allowed_hosts) {
  if (request.tunnel && request.port != 443)
    return make_error(errc::forbidden, "CONNECT is allowed to port 443 only");
  if (is_ip_literal(request.host))
    return make_error(errc::forbidden, "addresses are refused: ask for a host name on the allow list");
  if (!host_matches(request.host, allowed_hosts))
    return make_error(errc::forbidden, request.host + " is not on this sandbox's allow list");
  return {};
}

result<void> check_addresses(const std::string& host, const std::vector<ip_address>& addresses,
                             const std::vector<cidr>& operator_ranges) {
  if (addresses.empty()) return make_error(errc::unavailable, "cannot resolve " + host);
  for (const auto& address : addresses)
    if (!may_connect(address, operator_ranges))
      return make_error(errc::forbidden, host + " resolves to " + to_string(address) + " (" +
                                             to_string(classify(address)) + "), which sandboxes may not reach");
  return {};
}

std::vector<ip_address> hosts_file_lookup(const std::string& hosts_text, const std::string& name) {
  std::vector<ip_address> found;
  std::string wanted = lower(name);
  std::istringstream lines(hosts_text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string address_text, alias;
    if (!(words >> address_text)) continue;
    auto address = parse_ip(address_text);
    if (!address) continue;
    while (words >> alias) {
      if (lower(alias) != wanted) continue;
      bool seen = std::any_of(found.begin(), found.end(), [&](const ip_address& a) {
        return a.v6 == address->v6 && a.bytes == address->bytes;
      });
      if (!seen) found.push_back(*address);
    }
  }
  return found;
}

std::string error_response(const std::string& status, const std::string& reason) {
  std::string body = "aetherium egress proxy: " + reason + "\n";
  return "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

} // namespace aetherium::sandbox
