#include "adapters/sandbox/egress_policy.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>
#include <utility>

namespace aetherium::sandbox {
namespace {

/// A range the classification knows, parsed once.
struct known_range {
  cidr range;
  address_class kind;
};

known_range known(const char* text, address_class kind) { return {*parse_cidr(text), kind}; }

/// Most specific first: the first range that contains an address decides its class.
const std::vector<known_range>& ipv4_ranges() {
  using c = address_class;
  static const std::vector<known_range> ranges = {
      known("169.254.169.254/32", c::metadata), // AWS, GCP, Azure, OCI, OpenStack...
      known("169.254.170.2/32", c::metadata),   // AWS ECS task credentials
      known("169.254.170.23/32", c::metadata),  // AWS EKS pod identity
      known("100.100.100.200/32", c::metadata), // Alibaba Cloud
      known("168.63.129.16/32", c::metadata),   // Azure WireServer (a public address)
      known("0.0.0.0/8", c::unspecified),
      known("10.0.0.0/8", c::private_network),
      known("100.64.0.0/10", c::shared),
      known("127.0.0.0/8", c::loopback),
      known("169.254.0.0/16", c::link_local),
      known("172.16.0.0/12", c::private_network),
      known("192.0.0.0/24", c::reserved),
      known("192.0.2.0/24", c::reserved),
      known("192.88.99.0/24", c::reserved),
      known("192.168.0.0/16", c::private_network),
      known("198.18.0.0/15", c::reserved),
      known("198.51.100.0/24", c::reserved),
      known("203.0.113.0/24", c::reserved),
      known("224.0.0.0/4", c::multicast),
      known("240.0.0.0/4", c::reserved),
  };
  return ranges;
}

const std::vector<known_range>& ipv6_ranges() {
  using c = address_class;
  static const std::vector<known_range> ranges = {
      known("fd00:ec2::254/128", c::metadata), // AWS over IPv6
      known("::/128", c::unspecified),
      known("::1/128", c::loopback),
      known("2001::/23", c::reserved), // IETF protocol assignments, Teredo
      known("2001:db8::/32", c::reserved),
      known("3fff::/20", c::reserved),
      known("5f00::/16", c::reserved),
      known("fc00::/7", c::private_network),
      known("fe80::/10", c::link_local),
      known("fec0::/10", c::private_network),
      known("ff00::/8", c::multicast),
  };
  return ranges;
}

ip_address ipv4_at(const ip_address& address, std::size_t offset) {
  ip_address v4;
  for (std::size_t i = 0; i < 4; ++i) v4.bytes[i] = address.bytes[offset + i];
  return v4;
}

/// The IPv4 address an IPv6 address carries and routes to, if any.
std::optional<ip_address> embedded_ipv4(const ip_address& address) {
  static const cidr mapped = *parse_cidr("::ffff:0:0/96");
  static const cidr nat64 = *parse_cidr("64:ff9b::/96");
  static const cidr six_to_four = *parse_cidr("2002::/16");
  if (contains(mapped, address) || contains(nat64, address)) return ipv4_at(address, 12);
  if (contains(six_to_four, address)) return ipv4_at(address, 2);
  return std::nullopt;
}

std::string lower(std::string text) {
  for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

std::string trimmed(const std::string& text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

} // namespace

std::optional<ip_address> parse_ip(const std::string& text) {
  ip_address address;
  if (::inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) return address;
  address.v6 = true;
  if (::inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) return address;
  return std::nullopt;
}

std::string to_string(const ip_address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), text, sizeof text);
  return text;
}

ip_address unmapped(const ip_address& address) {
  static const cidr mapped = *parse_cidr("::ffff:0:0/96");
  return contains(mapped, address) ? ipv4_at(address, 12) : address;
}

result<cidr> parse_cidr(const std::string& text) {
  std::string range = trimmed(text);
  auto slash = range.find('/');
  auto address = parse_ip(range.substr(0, slash));
  if (!address) return make_error(errc::invalid_argument, "'" + range + "' is not an IP address range");
  int bits = address->v6 ? 128 : 32;
  int prefix = bits;
  if (slash != std::string::npos) {
    std::string digits = range.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) > bits)
      return make_error(errc::invalid_argument, "'" + range + "' has a bad prefix length");
    prefix = std::stoi(digits);
  }
  cidr parsed{*address, prefix};
  for (int bit = prefix; bit < bits; ++bit)
    if (address->bytes[bit / 8] & (0x80 >> (bit % 8)))
      return make_error(errc::invalid_argument,
                        "'" + range + "' has bits set beyond its prefix (a mistyped range?)");
  return parsed;
}

result<std::vector<cidr>> parse_cidrs(const std::vector<std::string>& texts) {
  std::vector<cidr> ranges;
  for (const auto& text : texts) {
    auto range = parse_cidr(text);
    if (!range) return range.err();
    ranges.push_back(*range);
  }
  return ranges;
}

bool contains(const cidr& range, const ip_address& address) {
  if (range.base.v6 != address.v6) return false;
  for (int bit = 0; bit < range.prefix; ++bit) {
    int mask = 0x80 >> (bit % 8);
    if ((range.base.bytes[bit / 8] & mask) != (address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

const char* to_string(address_class c) {
  switch (c) {
  case address_class::public_address: return "public";
  case address_class::unspecified: return "unspecified";
  case address_class::loopback: return "loopback";
  case address_class::link_local: return "link-local";
  case address_class::private_network: return "private";
  case address_class::shared: return "shared (carrier-grade NAT)";
  case address_class::multicast: return "multicast";
  case address_class::reserved: return "reserved";
  case address_class::metadata: return "cloud metadata";
  }
  return "reserved";
}

address_class classify(const ip_address& address) {
  if (address.v6) {
    if (auto v4 = embedded_ipv4(address)) return classify(*v4);
  }
  for (const auto& known : address.v6 ? ipv6_ranges() : ipv4_ranges())
    if (contains(known.range, address)) return known.kind;
  // Only 2000::/3 is global unicast; the rest of IPv6 (IPv4-compatible ::/96, the local
  // NAT64 prefix, discard, unassigned space) is not a destination.
  if (address.v6 && (address.bytes[0] & 0xe0) != 0x20) return address_class::reserved;
  return address_class::public_address;
}

bool may_connect(const ip_address& address, const std::vector<cidr>& operator_ranges) {
  address_class kind = classify(address);
  if (kind == address_class::public_address) return true;
  ip_address target = unmapped(address);
  int full = target.v6 ? 128 : 32;
  for (const auto& range : operator_ranges) {
    if (!contains(range, target)) continue;
    if (kind != address_class::metadata || range.prefix == full) return true;
  }
  return false;
}

bool valid_allowed_host(const std::string& host) {
  std::string name = !host.empty() && host[0] == '.' ? host.substr(1) : host;
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  char prev = 0;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

bool host_matches(const std::string& host, const std::vector<std::string>& allowed_hosts) {
  // Only plain names: no NUL, '%', '_' or other bytes a resolver might read differently.
  if (host.empty() || host[0] == '.' || !valid_allowed_host(host)) return false;
  std::string name = lower(host);
  for (const auto& entry : allowed_hosts) {
    std::string allowed = lower(entry);
    if (allowed.empty()) continue;
    if (allowed[0] != '.') {
      if (name == allowed) return true;
      continue;
    }
    std::string domain = allowed.substr(1);
    if (name == domain) return true;
    if (name.size() > allowed.size() && name.compare(name.size() - allowed.size(), allowed.size(), allowed) == 0)
      return true;
  }
  return false;
}

bool is_ip_literal(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  return ::inet_aton(host.c_str(), &v4) != 0 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

} // namespace aetherium::sandbox
