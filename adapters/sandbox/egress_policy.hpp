#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/result.hpp"

// What the allow-list proxy lets a sandbox reach, as pure functions: which host names
// (the task's allow list) and which addresses (public ones, plus the ranges an operator
// names). Shared by the adapter, which validates settings, and aetherium-egress-proxy.

namespace aetherium::sandbox {

/// An IPv4 or IPv6 address in network byte order; IPv4 uses the first 4 bytes.
struct ip_address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

/// Parses an address in its standard numeric form ("192.0.2.1", "2001:db8::1"), nothing
/// else (no brackets, zone ids or legacy IPv4 forms such as "0x7f.1").
std::optional<ip_address> parse_ip(const std::string& text);

/// The standard numeric form of an address.
std::string to_string(const ip_address& address);

/// The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for; any other
/// address unchanged. A socket connected to the mapped form reaches the IPv4 address.
ip_address unmapped(const ip_address& address);

/// An address range: every address whose first `prefix` bits equal those of `base`.
struct cidr {
  ip_address base;
  int prefix = 0;
};

/// Parses "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128); blanks around it
/// are ignored. Errors: invalid_argument (not an address, prefix out of range, or bits
/// set beyond the prefix, which usually means a mistyped range).
result<cidr> parse_cidr(const std::string& text);

/// Parses every range. Errors: invalid_argument naming the first bad one.
result<std::vector<cidr>> parse_cidrs(const std::vector<std::string>& texts);

/// True when `address` is of the range's family and in it.
bool contains(const cidr& range, const ip_address& address);

/// Why an address is, or is not, one a sandbox may reach by default.
enum class address_class {
  public_address, ///< Reachable.
  unspecified,    ///< 0.0.0.0/8, ::
  loopback,       ///< 127.0.0.0/8, ::1
  link_local,     ///< 169.254.0.0/16, fe80::/10
  private_network, ///< 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
  shared,         ///< 100.64.0.0/10 (carrier-grade NAT)
  multicast,      ///< 224.0.0.0/4, ff00::/8
  reserved,       ///< 240.0.0.0/4 (with broadcast), documentation, benchmarking, IETF
  metadata,       ///< Cloud instance metadata services (169.254.169.254, 168.63.129.16, ...)
};

/// Lowercase name of a class, for refusal messages.
const char* to_string(address_class c);

/// The class of `address`. IPv6 forms that embed an IPv4 address (mapped, NAT64
/// 64:ff9b::/96, 6to4 2002::/16) are classed by that address; IPv4-compatible ::/96 and
/// the local NAT64 prefix are reserved.
address_class classify(const ip_address& address);

/// True when the proxy may connect to `address`: a public one always, any other when an
/// operator range contains it (or, for a mapped address, its IPv4 address). A metadata
/// address needs a range of exactly that one address: a broad range never opens it.
bool may_connect(const ip_address& address, const std::vector<cidr>& operator_ranges);

/// True for "example.com" (that host only) and ".example.com" (the domain and its
/// subdomains): letters, digits, '-' and '.', at most 253 characters.
bool valid_allowed_host(const std::string& host);

/// True when `host` (a request's host name) is on the list, case-insensitively:
/// "example.com" matches that name only, ".example.com" it and every name below it.
bool host_matches(const std::string& host, const std::vector<std::string>& allowed_hosts);

/// True when a resolver would take `host` as an address rather than a name: standard IPv4
/// or IPv6, and the legacy IPv4 forms ("2130706433", "0x7f.1", "127.1").
bool is_ip_literal(const std::string& host);

} // namespace aetherium::sandbox
