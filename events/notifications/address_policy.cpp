#include "events/notifications/address_policy.hpp"

#include <cstdio>

namespace aetherium::notifications {

namespace {

address_class classify_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
  if (a == 0)
    return address_class::unspecified;
  if (a == 127)
    return address_class::loopback;
  if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168))
    return address_class::private_range;
  if (a == 169 && b == 254)
    return address_class::link_local;
  if (a == 100 && (b & 0xc0) == 64)
    return address_class::shared;
  if ((a & 0xf0) == 224)
    return address_class::multicast;
  if ((a & 0xf0) == 240 || (a == 255 && b == 255 && c == 255 && d == 255))
    return address_class::reserved;
  return address_class::global;
}

bool all_zero(const std::array<std::uint8_t, 16>& b, int from, int to) noexcept {
  for (int i = from; i < to; ++i)
    if (b[i] != 0)
      return false;
  return true;
}

} // namespace

address_class classify(const ip_address& a) noexcept {
  auto& b = a.bytes;
  if (!a.v6)
    return classify_v4(b[0], b[1], b[2], b[3]);
  if (all_zero(b, 0, 16))
    return address_class::unspecified;
  if (all_zero(b, 0, 15) && b[15] == 1)
    return address_class::loopback;
  // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address they carry.
  bool mapped = all_zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff;
  bool nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && all_zero(b, 4, 12);
  if (mapped || nat64)
    return classify_v4(b[12], b[13], b[14], b[15]);
  if (all_zero(b, 0, 12))
    return address_class::reserved; // deprecated IPv4-compatible ::a.b.c.d
  if (b[0] == 0xff)
    return address_class::multicast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return address_class::link_local;
  if ((b[0] & 0xfe) == 0xfc)
    return address_class::private_range;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
    return address_class::private_range; // deprecated site-local fec0::/10
  return address_class::global;
}

bool address_allowed(const ip_address& a, bool allow_private) noexcept {
  switch (classify(a)) {
  case address_class::global:
    return true;
  case address_class::loopback:
  case address_class::private_range:
  case address_class::link_local:
  case address_class::shared:
    return allow_private;
  default:
    return false;
  }
}

const char* to_string(address_class c) noexcept {
  switch (c) {
  case address_class::global: return "global";
  case address_class::loopback: return "loopback";
  case address_class::private_range: return "private";
  case address_class::link_local: return "link-local";
  case address_class::shared: return "shared (CGNAT)";
  case address_class::unspecified: return "unspecified";
  case address_class::multicast: return "multicast";
  case address_class::reserved: return "reserved";
  }
  return "unknown";
}

std::string to_string(const ip_address& a) {
  char buf[64];
  auto& b = a.bytes;
  if (!a.v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (b[i] << 8) | b[i + 1]);
    out += buf;
  }
  return out;
}

} // namespace aetherium::notifications
