#pragma once

#include "runtime/config.hpp"

namespace aetherium::runtime {

/// `aetherium admin create-key --tenant T --role admin|operator|viewer [--name N] [--json]`,
/// `aetherium admin list-keys --tenant T [--json]`, `aetherium admin revoke-key --tenant T
/// --id K`, `aetherium admin tenant ...` (runtime/tenant_commands.hpp) and `aetherium admin
/// node-token` / `node-tokens` (runtime/node_token_commands.hpp).
///
/// Keys belong to a tenant: create-key for a tenant the log does not know creates it
/// first (tenant.created, named after its id, no quotas of its own); revoke-key finds only
/// keys of the tenant it names.
///
/// Both work on the event log directly (migrating the schema up first), so the first
/// admin key of a tenant exists before any server runs: no unauthenticated endpoint makes
/// one. create-key prints the key once; only its SHA-256 is stored. list-keys prints ids,
/// roles, names and revocation, never hashes. Exit codes: 0 done, 1 failure (the reason on
/// stderr as "aetherium: <errc>: <detail>"), 2 usage error.
int run_admin(const command_line& cmd, const config& cfg);

} // namespace aetherium::runtime
