#include "events/base64url.hpp"

namespace aetherium {

std::string base64url(const unsigned char* data, std::size_t n) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    value = (value << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(value >> bits) & 0x3F];
    }
  }
  if (bits > 0)
    out += alphabet[(value << (6 - bits)) & 0x3F];
  return out;
}

} // namespace aetherium
