#include "events/github/hmac_sha256.hpp"

#include <cctype>

#include "events/sha256.hpp"

namespace aetherium::github {

namespace {

constexpr std::size_t block_size = 64;
constexpr std::string_view signature_prefix = "sha256=";

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  return c - 'a' + 10;
}

/// The raw 32 bytes of a digest given as lowercase hex.
std::string unhex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
  return out;
}

/// The key padded (or first hashed) to one block, XORed with `pad`.
std::string padded_key(std::string_view key, unsigned char pad) {
  std::string k = key.size() > block_size ? unhex(sha256_hex(key)) : std::string{key};
  k.resize(block_size, '\0');
  for (auto& c : k)
    c = static_cast<char>(static_cast<unsigned char>(c) ^ pad);
  return k;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  auto inner = padded_key(key, 0x36);
  inner.append(message.data(), message.size());
  auto outer = padded_key(key, 0x5c);
  outer += unhex(sha256_hex(inner));
  return sha256_hex(outer);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  return diff == 0;
}

result<void> verify_github_signature(std::string_view secret, std::string_view body,
                                     std::string_view header_value) {
  if (secret.empty())
    return make_error(errc::unavailable, "no GitHub webhook secret is configured");
  if (header_value.empty())
    return make_error(errc::unauthorized, "the X-Hub-Signature-256 header is missing", "X-Hub-Signature-256");
  if (header_value.substr(0, signature_prefix.size()) != signature_prefix)
    return make_error(errc::unauthorized, "the X-Hub-Signature-256 header must start with \"sha256=\"",
                      "X-Hub-Signature-256");
  std::string given{header_value.substr(signature_prefix.size())};
  for (auto& c : given)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!constant_time_equal(given, hmac_sha256_hex(secret, body)))
    return make_error(errc::unauthorized, "the X-Hub-Signature-256 does not match the body", "X-Hub-Signature-256");
  return {};
}

std::string github_signature(std::string_view secret, std::string_view body) {
  return std::string{signature_prefix} + hmac_sha256_hex(secret, body);
}

} // namespace aetherium::github
