#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::scheduling {

/// One tenant quota: unset (nullopt: the server's default applies), 0 (unlimited) or the
/// most the tenant may hold.
using quota = std::optional<std::uint64_t>;

/// A tenant's own quotas, as its events set them.
struct tenant_quotas {
  quota max_live_tasks;   ///< Tasks requested and not ended; checked when a task is requested.
  quota max_sandboxes;    ///< Sandboxes placed at once; checked at placement.
  quota max_memory_bytes; ///< Memory limits of its placed sandboxes, summed; checked at placement.

  friend bool operator==(const tenant_quotas& a, const tenant_quotas& b) {
    return a.max_live_tasks == b.max_live_tasks && a.max_sandboxes == b.max_sandboxes
           && a.max_memory_bytes == b.max_memory_bytes;
  }
  friend bool operator!=(const tenant_quotas& a, const tenant_quotas& b) { return !(a == b); }
};

/// The quotas in force: each quota `own` leaves unset comes from `defaults`.
tenant_quotas with_defaults(const tenant_quotas& own, const tenant_quotas& defaults);

/// The limit a quota sets; nullopt when it does not bind (unset or 0).
inline std::optional<std::uint64_t> limit_of(const quota& q) {
  return q && *q > 0 ? q : std::nullopt;
}

/// What the scheduler lets one tenant hold at once, summed over its live sandboxes.
struct placement_quotas {
  std::uint32_t max_sandboxes = 0;
  std::uint64_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;

  friend bool operator==(const placement_quotas& a, const placement_quotas& b) {
    return a.max_sandboxes == b.max_sandboxes && a.cpu_millis == b.cpu_millis && a.memory_bytes == b.memory_bytes;
  }
  friend bool operator!=(const placement_quotas& a, const placement_quotas& b) { return !(a == b); }
};

/// Placement quotas that never bind.
inline placement_quotas unlimited_quotas() {
  return {std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint64_t>::max(),
          std::numeric_limits<std::uint64_t>::max()};
}

/// The placement quotas that tenant quotas (defaults applied) give: a quota that does not
/// bind is unlimited; tenants have no cpu quota.
placement_quotas placement_quotas_of(const tenant_quotas& q);

/// Every placement quota must be at least 1. Errors: invalid_argument naming the quota.
result<void> validate_quotas(const placement_quotas& q);

// Events of a tenant stream ("tenant-<id>").

/// Schema 2: quotas are max_live_tasks, max_sandboxes and max_memory_bytes, each unset,
/// 0 (unlimited) or a limit. Schema 1 held max_concurrent_tasks, cpu_millis, memory_bytes.
struct tenant_created {
  static constexpr const char* type_name = "tenant.created";
  static constexpr int schema_version = 2;
  tenant_id id;
  std::string name;
  tenant_quotas quotas;
  std::int64_t at_us = 0;
};
/// Schema 2, like tenant_created. Carries every quota, not only the ones that changed.
struct tenant_quotas_changed {
  static constexpr const char* type_name = "tenant.quotas_changed";
  static constexpr int schema_version = 2;
  tenant_quotas quotas;
  std::int64_t at_us = 0;
};

using tenant_event = std::variant<tenant_created, tenant_quotas_changed>;

/// The wire name of any tenant event.
const char* type_name(const tenant_event& e) noexcept;
/// The current schema version of a tenant event type; 0 for a type that is not one.
int tenant_schema_version(const std::string& type) noexcept;

struct create_tenant {
  tenant_id id;
  std::string name;
  tenant_quotas quotas;
  std::int64_t now_us = 0;
};
/// Sets every quota to `quotas` (unset ones fall back to the server's defaults again).
struct change_quotas {
  tenant_quotas quotas;
  std::int64_t now_us = 0;
};

using tenant_command = std::variant<create_tenant, change_quotas>;

/// A tenant as its events made it.
struct tenant_state {
  bool exists = false;
  tenant_id id;
  std::string name;
  tenant_quotas quotas;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
};

/// The tenant aggregate: pure decide and evolve.
struct tenant {
  using state = tenant_state;
  using command = tenant_command;
  using event = tenant_event;

  /// "tenant-<id>".
  static stream_id stream_of(const std::string& id) { return stream_id{"tenant-" + id}; }

  /// Errors: conflict (created twice), not_found (quotas of no tenant), invalid_argument
  /// (an empty or oversized id or name, naming the field). Setting the quotas it already
  /// has records nothing.
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

} // namespace aetherium::scheduling
