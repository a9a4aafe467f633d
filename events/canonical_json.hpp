#pragma once

#include <string>
#include <string_view>

#include "events/result.hpp"

namespace aetherium {

/// Rewrites a JSON text in the one form the hash chain is computed over. The form is the
/// text PostgreSQL prints for a jsonb value, so a stored payload reads back byte for byte:
/// object keys ordered shorter first, then bytewise; ", " and ": " as separators; strings
/// with only the escapes JSON requires; numbers as written.
///
/// Errors (invalid_argument): not JSON, trailing data, duplicate keys, nesting deeper than
/// 64, invalid UTF-8, "\u0000", and numbers with an exponent or a negative zero (jsonb
/// rewrites those, which would break the chain).
result<std::string> canonical_json(std::string_view text);

/// Like canonical_json, and also requires the top-level value to be an object.
result<std::string> canonical_json_object(std::string_view text);

/// Appends `value` to `out` as a JSON string literal in canonical form.
void append_json_string(std::string& out, std::string_view value);

} // namespace aetherium
