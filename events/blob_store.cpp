#include "events/blob_store.hpp"

#include "events/sha256.hpp"

namespace aetherium {

namespace {

constexpr std::size_t hex_digits = 64;
// Malformed refs may be arbitrarily long; error details quote only their start.
constexpr std::size_t quoted_ref_chars = 80;

bool is_lower_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

} // namespace

result<std::string> blob_ref_of(std::string_view bytes) {
  if (bytes.size() > max_blob_bytes)
    return make_error(errc::invalid_argument,
                      "blob of " + std::to_string(bytes.size()) + " bytes exceeds the limit of "
                        + std::to_string(max_blob_bytes) + " bytes",
                      "bytes");
  return std::string{blob_ref_prefix} + sha256_hex(bytes);
}

result<void> check_blob_ref(std::string_view ref) {
  bool ok = ref.size() == blob_ref_prefix.size() + hex_digits
            && ref.substr(0, blob_ref_prefix.size()) == blob_ref_prefix;
  for (std::size_t i = blob_ref_prefix.size(); ok && i < ref.size(); ++i)
    ok = is_lower_hex(ref[i]);
  if (ok)
    return {};
  return make_error(errc::invalid_argument,
                    "malformed blob ref '" + std::string{ref.substr(0, quoted_ref_chars)}
                      + "': expected sha256: and 64 lowercase hex digits",
                    "ref");
}

} // namespace aetherium
