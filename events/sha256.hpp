#pragma once

#include <string>
#include <string_view>

namespace aetherium {

/// SHA-256 of `data` as 64 lowercase hex digits (FIPS 180-4).
std::string sha256_hex(std::string_view data);

/// True when `text` has the form sha256_hex gives: 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text) noexcept;

} // namespace aetherium
