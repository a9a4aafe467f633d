#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/api/api_types.hpp"
#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::api {

/// An API key as stored: never the key itself, only its SHA-256.
struct api_key_record {
  apikey_id id;
  tenant_id tenant;
  api::role role = role::viewer;
  std::string name;        ///< What the key is for, chosen by its creator.
  std::string secret_hash; ///< 64 lowercase hex digits: SHA-256 of the whole key text.
  std::int64_t created_at_us = 0;
  bool revoked = false;
};

/// Where API keys live. find_by_hash is called for every request, so implementations
/// answer it from memory (e.g. a projection of the `apikey-<id>` streams). Thread-safe.
class api_key_store {
public:
  virtual ~api_key_store() = default;

  /// Stores a new key; returns once it is durable. Errors: conflict (id or hash taken),
  /// unavailable.
  virtual result<void> add(const api_key_record& record) = 0;

  /// The key whose secret hashes to `secret_hash`, revoked ones included.
  /// Errors: not_found.
  virtual result<api_key_record> find_by_hash(const std::string& secret_hash) = 0;

  /// The keys of `tenant`, oldest first.
  virtual std::vector<api_key_record> list(const tenant_id& tenant) = 0;

  /// Revokes a key of `tenant`; revoking twice is fine. Errors: not_found (no such key in
  /// that tenant), unavailable.
  virtual result<void> revoke(const tenant_id& tenant, const apikey_id& id) = 0;
};

/// Keys in memory, for tests and for `aetherium server` before the event log backs them.
std::shared_ptr<api_key_store> make_memory_api_key_store();

} // namespace aetherium::api
