#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::scheduling {

/// Join tokens: what a node process shows the control plane the first time it joins
/// (`aetherium node --join ... --token T`). The text is "aetj_<id>_<secret>": the id is 16
/// lowercase hex digits, the secret at least 43 base64url characters (32 random bytes).
/// The log keeps only the SHA-256 of the secret, so the text is shown once, when issued.
inline constexpr std::string_view node_token_prefix = "aetj_";
inline constexpr std::size_t node_token_id_chars = 16;
inline constexpr std::size_t node_token_min_secret_chars = 43;
inline constexpr std::size_t node_token_max_secret_chars = 128;
inline constexpr std::size_t node_token_max_note_bytes = 256;

// Events of a token stream ("nodetoken-<id>"), past tense, each with its wire name.

struct node_token_issued {
  static constexpr const char* type_name = "node_token.issued";
  static constexpr int schema_version = 1;
  node_token_id token_id;
  std::string secret_sha256;       ///< Hex SHA-256 of the secret part of the text.
  std::string note;                ///< What the operator said it is for.
  std::int64_t expires_at_us = 0;  ///< 0: never.
  std::int64_t at_us = 0;
};
struct node_token_revoked {
  static constexpr const char* type_name = "node_token.revoked";
  static constexpr int schema_version = 1;
  std::int64_t at_us = 0;
};

using node_token_event = std::variant<node_token_issued, node_token_revoked>;

/// The wire name of any token event.
const char* type_name(const node_token_event& e) noexcept;
/// The current schema version of a token event type; 0 for a type that is not one.
int node_token_schema_version(const std::string& type) noexcept;

// Commands.

struct issue_node_token {
  node_token_id id;
  std::string secret_sha256;
  std::string note;
  std::int64_t expires_at_us = 0; ///< 0: never; otherwise after now_us.
  std::int64_t now_us = 0;
};
struct revoke_node_token { std::int64_t now_us = 0; };

using node_token_command = std::variant<issue_node_token, revoke_node_token>;

/// A token as its events made it.
struct node_token_state {
  bool exists = false;
  node_token_id id;
  std::string secret_sha256;
  std::string note;
  std::int64_t expires_at_us = 0;
  std::int64_t issued_at_us = 0;
  bool revoked = false;
  std::int64_t revoked_at_us = 0;
};

/// The token aggregate: pure decide and evolve.
struct node_token {
  using state = node_token_state;
  using command = node_token_command;
  using event = node_token_event;

  /// "nodetoken-<id>".
  static stream_id stream_of(const std::string& id) { return stream_id{"nodetoken-" + id}; }

  /// Transitions: issue a token that does not exist; revoke an issued one (twice is a
  /// no-op). Errors: conflict (the id is taken), not_found (revoking no token),
  /// invalid_argument naming the field (id not 16 lowercase hex digits, a hash that is
  /// not 64, a note over 256 bytes, an expiry that is negative or not after now).
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// The two parts of a token's text.
struct node_token_parts {
  node_token_id id;
  std::string secret;
};

/// True for 16 lowercase hex digits.
bool valid_node_token_id(std::string_view id) noexcept;

/// Splits "aetj_<id>_<secret>". Errors: invalid_argument (field "token") for a wrong
/// prefix, an id that is not 16 lowercase hex digits, a secret that is not 43 to 128
/// base64url characters. The detail never repeats the text.
result<node_token_parts> parse_node_token(std::string_view text);

/// A new token from 40 random bytes: the first 8 give the id (hex), the other 32 the
/// secret (unpadded base64url, 43 characters).
node_token_parts make_node_token(const std::array<unsigned char, 40>& random);

/// "aetj_<id>_<secret>".
std::string node_token_text(const node_token_parts& token);

/// Whether `secret` opens token `s` at `now_us`: issued, not revoked, not expired, and the
/// SHA-256 of `secret` equal to the stored one (compared in constant time). Errors:
/// unauthorized, the detail saying which check failed (for the operator's log, not for the
/// caller).
result<void> verify_node_token(const node_token_state& s, std::string_view secret, std::int64_t now_us);

/// Compares without returning early, so the time taken does not tell where two strings of
/// equal length first differ. Strings of different lengths are unequal.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace aetherium::scheduling
