#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::scheduling {

/// What one tenant may hold at once, summed over its live sandboxes.
struct tenant_quotas {
  std::uint32_t max_concurrent_tasks = 0;
  std::uint64_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;

  friend bool operator==(const tenant_quotas& a, const tenant_quotas& b) {
    return a.max_concurrent_tasks == b.max_concurrent_tasks && a.cpu_millis == b.cpu_millis
           && a.memory_bytes == b.memory_bytes;
  }
  friend bool operator!=(const tenant_quotas& a, const tenant_quotas& b) { return !(a == b); }
};

/// Quotas that never bind.
inline tenant_quotas unlimited_quotas() {
  return {std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint64_t>::max(),
          std::numeric_limits<std::uint64_t>::max()};
}

// Events of a tenant stream ("tenant-<id>").

struct tenant_created {
  static constexpr const char* type_name = "tenant.created";
  static constexpr int schema_version = 1;
  tenant_id id;
  std::string name;
  tenant_quotas quotas;
  std::int64_t at_us = 0;
};
struct tenant_quotas_changed {
  static constexpr const char* type_name = "tenant.quotas_changed";
  static constexpr int schema_version = 1;
  tenant_quotas quotas;
  std::int64_t at_us = 0;
};

using tenant_event = std::variant<tenant_created, tenant_quotas_changed>;

/// The wire name of any tenant event.
const char* type_name(const tenant_event& e) noexcept;

struct create_tenant {
  tenant_id id;
  std::string name;
  tenant_quotas quotas;
  std::int64_t now_us = 0;
};
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
  /// (empty id or name, a zero quota; naming the field). Setting the quotas it already has
  /// records nothing.
  static result<std::vector<event>> decide(const state& s, const command& c);

  /// Never fails, never validates.
  static state evolve(state s, const event& e);
};

/// Every quota must be at least 1. Errors: invalid_argument naming the quota.
result<void> validate_quotas(const tenant_quotas& q);

} // namespace aetherium::scheduling
