#pragma once

#include <string>
#include <vector>

#include "events/result.hpp"

namespace aetherium::postgres {

/// One schema migration and whether it is applied in the database.
struct migration_status {
  int version = 0;
  std::string name;
  bool applied = false;
};

/// Applies every pending migration in order, each in its own transaction, under an
/// advisory lock so concurrent migrators wait for each other. Returns how many it applied.
/// Errors: unavailable (cannot connect), internal (a migration failed; it is rolled back).
result<int> migrate_up(const std::string& conninfo);

/// Reverts the `steps` most recent applied migrations. Returns how many it reverted.
result<int> migrate_down(const std::string& conninfo, int steps = 1);

/// Every known migration with its applied flag, oldest first.
result<std::vector<migration_status>> migrate_status(const std::string& conninfo);

} // namespace aetherium::postgres
