#pragma once

#include <memory>
#include <string>

#include "events/projection_snapshot_store.hpp"

namespace aetherium {

/// Opens the snapshot store in the database at `conninfo`, table `projection_snapshots`. The
/// schema must be migrated (postgres::migrate_up). Uses one connection, reopened on the next
/// call after it broke. Errors: unavailable (the database cannot be reached), internal (the
/// schema is not migrated).
result<std::shared_ptr<projection_snapshot_store>> make_postgres_projection_snapshot_store(const std::string& conninfo);

} // namespace aetherium
