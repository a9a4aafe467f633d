#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/api/api_key_store.hpp"
#include "events/api/api_types.hpp"
#include "events/clock.hpp"
#include "events/result.hpp"

namespace aetherium::http {

/// How credentials are checked.
struct auth_options {
  std::string jwt_secret;               ///< HS256 key; empty: every JWT is refused.
  std::string jwt_issuer = "aetherium"; ///< Required `iss` of every JWT.
  std::int64_t clock_skew_seconds = 30; ///< Tolerance on `exp` and `nbf`.
};

/// A caller whose credentials checked out, and the key its requests are rate-limited by.
struct authentication {
  api::caller caller;
  std::string rate_key;
};

/// A freshly created API key: `key` is shown once and never stored.
struct issued_api_key {
  api::api_key_record record;
  std::string key;
};

/// Turns the Authorization header into a caller, and manages API keys.
/// Thread-safe.
class authenticator {
public:
  virtual ~authenticator() = default;

  /// Accepts "Bearer <api key>" (keys start with "ak_") and "Bearer <JWT>".
  /// Errors: unauthorized (missing, malformed, unknown, revoked, expired, wrong issuer,
  /// wrong algorithm, bad signature).
  virtual result<authentication> authenticate(std::string_view authorization) = 0;

  /// Creates a key of `tenant` with `role`. Errors: invalid_argument (tenant or name),
  /// unavailable (the key store).
  virtual result<issued_api_key> create_key(const tenant_id& tenant, api::role role, std::string name) = 0;

  /// The keys of `tenant` (hashes included; callers show what they choose).
  virtual std::vector<api::api_key_record> list_keys(const tenant_id& tenant) = 0;

  /// Errors: not_found.
  virtual result<void> revoke_key(const tenant_id& tenant, const apikey_id& id) = 0;
};

std::shared_ptr<authenticator> make_authenticator(auth_options options, std::shared_ptr<api::api_key_store> keys,
                                                  std::shared_ptr<clock> clock, std::shared_ptr<id_generator> ids);

/// Creates and stores a new API key: 32 random bytes from OpenSSL, "ak_" + base64url.
/// What `aetherium admin create-key` runs (the bootstrap path: no HTTP involved).
/// Errors: invalid_argument (tenant not [A-Za-z0-9][A-Za-z0-9._-]{0,127}, name over 100 characters),
/// unavailable (no randomness, the key store).
result<issued_api_key> issue_api_key(api::api_key_store& store, clock& clock, id_generator& ids,
                                     const tenant_id& tenant, api::role role, std::string name);

/// SHA-256 of the whole key text, 64 lowercase hex digits: what the store keeps.
std::string hash_api_key(std::string_view key);

/// The claims Aetherium reads from a JWT.
struct jwt_claims {
  std::string issuer;          ///< iss
  std::string subject;         ///< sub
  tenant_id tenant;            ///< "tenant"
  api::role role = api::role::viewer; ///< "role"
  std::int64_t issued_at = 0;  ///< iat, seconds since the epoch; 0 = absent
  std::int64_t not_before = 0; ///< nbf; 0 = absent
  std::int64_t expires_at = 0; ///< exp; required
};

/// Signs `claims` with HS256. Errors: invalid_argument (empty secret), internal.
result<std::string> sign_jwt_hs256(std::string_view secret, const jwt_claims& claims);

/// Checks a JWT: the header's alg must be exactly HS256 (none and every other algorithm are
/// refused before any signature check), the signature must match `secret`, `iss` must equal
/// `issuer`, `exp` must be present and in the future, `nbf` (when present) in the past,
/// both within `skew_seconds`; `sub`, `tenant` and a known `role` are required.
/// Errors: unauthorized, with the reason.
result<jwt_claims> verify_jwt_hs256(std::string_view token, std::string_view secret, std::string_view issuer,
                                    std::int64_t now_seconds, std::int64_t skew_seconds);

} // namespace aetherium::http
