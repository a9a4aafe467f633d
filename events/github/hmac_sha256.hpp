#pragma once

#include <string>
#include <string_view>

#include "events/result.hpp"

namespace aetherium::github {

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, as 64 lowercase hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// True when `a` and `b` are equal. Takes time that depends only on the lengths, never on
/// where the first difference is, so a caller comparing a secret-derived value does not
/// leak it byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Checks a GitHub webhook's `X-Hub-Signature-256` header: "sha256=" followed by the hex
/// HMAC-SHA256 of the raw body under the webhook secret. The digest comparison is
/// constant-time. `header_value` empty means the header was missing.
/// Errors: unauthorized (missing header, wrong prefix, mismatch), unavailable (no secret
/// configured: nothing can be verified).
result<void> verify_github_signature(std::string_view secret, std::string_view body,
                                     std::string_view header_value);

/// The header value GitHub would send for `body` signed with `secret` ("sha256=<hex>").
std::string github_signature(std::string_view secret, std::string_view body);

} // namespace aetherium::github
