#pragma once

#include "runtime/config.hpp"

namespace aetherium::runtime {

/// `aetherium admin node-token [--note TEXT] [--ttl SECONDS] [--json]` issues a join token
/// for `aetherium node --token`: its text on stdout (one line; with --json an object with
/// id and token), its id on stderr. The text is shown only then; the log keeps the SHA-256
/// of its secret. --ttl 0 (the default) never expires.
/// `aetherium admin node-token --revoke ID` revokes one (twice is fine).
/// `aetherium admin node-tokens [--json]` lists every token, oldest first: id, state
/// (active, revoked, expired), expiry and note.
///
/// They write and read `nodetoken-<id>` streams of the log directly (migrating the schema
/// up first), like the other admin commands. Exit codes: 0 done, 1 failure (an unknown
/// token, the database), 2 usage error.
int run_admin_node_tokens(const command_line& cmd, const config& cfg);

} // namespace aetherium::runtime
