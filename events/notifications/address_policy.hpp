#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace aetherium::notifications {

/// An IP address as bytes: IPv4 in the first four bytes, or IPv6 in all sixteen.
struct ip_address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};

  static ip_address v4_of(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    ip_address out;
    out.bytes = {a, b, c, d};
    return out;
  }
};

/// Why an address is special, or `global` when it is an ordinary public one.
enum class address_class {
  global,
  loopback,       ///< 127/8, ::1
  private_range,  ///< 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local)
  link_local,     ///< 169.254/16, fe80::/10
  shared,         ///< 100.64/10 (carrier-grade NAT)
  unspecified,    ///< 0/8, ::
  multicast,      ///< 224/4, ff00::/8
  reserved,       ///< 240/4 and broadcast, IPv4-compatible and other odd IPv6 forms
};

/// The class of `a`. IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible-looking and NAT64
/// (64:ff9b::/96) IPv6 addresses are judged by the IPv4 address they carry.
address_class classify(const ip_address& a) noexcept;

/// Whether a webhook may be delivered to `a`: only global addresses, unless
/// `allow_private` (the operator's --notify-allow-loopback), which also lets loopback,
/// private, link-local and shared addresses through. Unspecified, multicast and reserved
/// addresses are never allowed.
bool address_allowed(const ip_address& a, bool allow_private) noexcept;

/// "loopback", "private", … for error messages.
const char* to_string(address_class c) noexcept;

/// Text form for messages ("127.0.0.1", "::ffff:7f00:1" style hex groups for IPv6).
std::string to_string(const ip_address& a);

} // namespace aetherium::notifications
