#pragma once

#include <memory>

#include "events/api/api_key_store.hpp"
#include "events/clock.hpp"
#include "events/event_store.hpp"

namespace aetherium {

/// API keys as events of `apikey-<id>` streams (`apikey.created`, `apikey.revoked`, both
/// schema 1), so a key made by `aetherium admin create-key` in one process is known to
/// every server on the same log. Only hashes are stored, never a key.
///
/// - add and revoke return once their event is durable (the blocking event_store::append),
///   and the store's own reads see the write as soon as they return.
/// - find_by_hash and list answer from an index in memory. The factory fills it from the
///   whole log before it returns, then a subscription keeps it following the log, so keys
///   written by other processes appear shortly after they commit.
/// - if the log cannot be read at construction, the subscription fills the index in once
///   it can; writes still fail with unavailable until the store answers.
/// - add's hash check covers the keys this instance knows; ids are unique in the log
///   itself (each key's stream must not exist yet).
///
/// `store`, `clock` (revocation times) and `ids` (event ids) must not be null.
std::shared_ptr<api::api_key_store> make_event_log_api_key_store(std::shared_ptr<event_store> store,
                                                                 std::shared_ptr<clock> clock,
                                                                 std::shared_ptr<id_generator> ids);

} // namespace aetherium
