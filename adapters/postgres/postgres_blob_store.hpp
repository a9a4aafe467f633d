#pragma once

#include <memory>
#include <string>

#include "events/blob_store.hpp"

namespace aetherium {

/// Opens the blob store in the database at `conninfo` (libpq key=value or URL form), table
/// `blobs`. The schema must be migrated (postgres::migrate_up). Uses one connection, reopened
/// on the next call after it broke. Errors: unavailable (the database cannot be reached),
/// internal (the schema is not migrated).
result<std::shared_ptr<blob_store>> make_postgres_blob_store(const std::string& conninfo);

} // namespace aetherium
