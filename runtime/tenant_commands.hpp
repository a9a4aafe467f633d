#pragma once

#include <string>

#include "events/clock.hpp"
#include "events/event_store.hpp"
#include "events/scheduling/tenant.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// `aetherium admin tenant create --tenant T [--name N] [quota options] [--json]`,
/// `aetherium admin tenant get --tenant T [--json]` and
/// `aetherium admin tenant set-quota --tenant T [--max-live-tasks N] [--max-sandboxes N]
/// [--max-memory BYTES]` (at least one; the others keep their values).
///
/// A quota value is a number (--max-memory also takes 512m, 2g, ...), `unlimited` (or 0)
/// or `default` (unset: the server's default applies). They write `tenant-<id>` streams
/// of the log directly, like the other admin commands; a running server applies a change
/// as soon as its subscription delivers it. Exit codes: 0 done, 1 failure (unknown
/// tenant, a tenant created twice, the database), 2 usage error (a bad number, a missing
/// option).
int run_admin_tenant(const command_line& cmd, const config& cfg);

/// A tenant as its stream holds it, and the stream's version (0: no stream).
struct tenant_record {
  scheduling::tenant_state state;
  std::int64_t version = 0;
};

/// Folds tenant `id`'s stream. Errors: unavailable (the store), corrupt (an event that
/// does not decode).
result<tenant_record> load_tenant(event_store& store, const tenant_id& id);

/// Loads tenant `id`, decides `command` and appends what it decided at the version it
/// read. Errors: those of tenant::decide (conflict, not_found, invalid_argument), conflict
/// when another writer appended meanwhile, unavailable, corrupt.
result<tenant_record> write_tenant(event_store& store, id_generator& ids, const tenant_id& id,
                                   const scheduling::tenant_command& command, const std::string& principal);

/// Creates tenant `id` (named after its id, no quotas of its own) unless it exists; the
/// tenant either way. Errors: as write_tenant.
result<tenant_record> ensure_tenant(event_store& store, id_generator& ids, clock& time, const tenant_id& id,
                                    const std::string& principal);

/// Parses a quota option: a number (with `bytes`, also a size such as 512m or 2g),
/// `unlimited` (0) or `default` (unset). Errors: invalid_argument.
result<scheduling::quota> parse_quota(const std::string& text, bool bytes);

} // namespace aetherium::runtime
