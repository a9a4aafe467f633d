#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"
#include "events/scheduling/node.hpp"
#include "events/scheduling/tenant.hpp"

namespace aetherium::scheduling {

/// How the scheduler chooses among the nodes a task fits on now. bin_pack and best_fit
/// first prefer the nodes offering the fewest runtimes the sandbox does not need, so that
/// nodes with scarce runtimes (runsc, microvm) keep room for the sandboxes that need them.
/// Equal scores go to the node with more cpu, then to the node registered first.
enum class strategy {
  bin_pack, ///< The most loaded node: fills nodes one after another, fewest nodes in use.
  spread,   ///< The least loaded node: evens the load out.
  best_fit, ///< The node the task fills most tightly: fewest further copies of it would fit.
};

/// Wire name: "bin_pack", "spread" or "best_fit".
const char* to_string(strategy s) noexcept;
/// Parses a wire name (also "bin-pack", "best-fit"); false when unknown.
bool parse_strategy(std::string_view name, strategy& out) noexcept;

/// One sandbox to place.
struct placement_request {
  task_id task;
  tenant_id tenant;
  std::string runtime;           ///< Must be offered by the node (crun, runc, runsc, microvm).
  std::uint32_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;
  /// The one node that may run it (empty: any node): a sandbox that needs a service only
  /// one node has, such as the control plane's model gateway.
  node_id only_on;
};

/// A live sandbox and where it runs.
struct placement {
  placement_request request;
  node_id node;
};

/// A task that lived on a node that went down, and where it went: the new node, or the
/// error a fresh placement would give (then the scheduler no longer holds it).
struct rescheduled {
  placement_request request;
  node_id from;
  result<node_id> to = make_error(errc::internal, "not placed");
};

/// Resources in use, summed over live sandboxes.
struct usage {
  std::uint32_t sandboxes = 0;
  std::uint64_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;
};

/// One node as the scheduler sees it. `load` is the dominant share: the largest of the
/// cpu, memory and slot fractions in use, from 0 to 1.
struct node_load {
  node_id id;
  node_status status = node_status::up;
  node_capacity capacity;
  std::vector<std::string> runtimes;
  usage used;
  double load = 0;
  std::string address; ///< Where to reach it, as it registered.
  std::int64_t last_heartbeat_us = 0; ///< Filled by the scheduler actor (the core has no clock).
};

/// One tenant's quotas and what it holds.
struct tenant_load {
  tenant_id id;
  placement_quotas quotas;
  usage used;
};

/// A snapshot of the scheduler, nodes in registration order, tenants by id.
struct scheduler_summary {
  strategy strat = strategy::bin_pack;
  std::size_t live_tasks = 0;
  std::vector<node_load> nodes;
  std::vector<tenant_load> tenants;

  /// How many nodes run at least one sandbox.
  std::size_t nodes_in_use() const;
};

/// The pure scheduling core: node capacity and load, tenant quotas and usage, and the
/// live placements. No clock, no I/O, not thread-safe; one owner drives it. A placement
/// costs one pass over the nodes plus a few hash lookups.
class scheduler_core {
public:
  explicit scheduler_core(strategy s, placement_quotas default_quotas = unlimited_quotas());

  /// Adds a node as up, or brings a known one back up with its (possibly new) capacity and
  /// runtimes. Sandboxes it still holds stay accounted on it. At most 64 distinct runtime
  /// names are told apart; further ones are never matched.
  void add_node(const node_registration& n);

  /// Marks a node down and moves every sandbox it held, oldest first, to another node
  /// with the strategy. Each result says where it went or why it could not move (the
  /// scheduler then no longer holds that task). Unknown or already down nodes: nothing.
  std::vector<rescheduled> mark_down(const node_id& id);

  /// The node keeps its sandboxes but takes no new ones. Unknown nodes: nothing.
  void drain(const node_id& id);

  /// Quotas for one tenant; tenants never given any get the default quotas. Lowering
  /// quotas below what a tenant holds evicts nothing; it only refuses new placements.
  void set_quotas(const tenant_id& tenant, const placement_quotas& quotas);

  /// Places a sandbox and reserves its resources on the chosen node.
  /// Placing a task that is placed already returns its node again (idempotent retry).
  /// Errors, checked in this order:
  /// - invalid_argument: an empty field or zero resources (naming the field).
  /// - conflict: the task is placed already with other resources.
  /// - invalid_argument: no registered node could ever run it: none offers the runtime
  ///   (field "runtime") or none is large enough (field "cpu_millis" or "memory_bytes").
  ///   Do not retry; the task cannot run on this cluster (failure reason no_capacity).
  /// - quota_exceeded: the tenant would exceed a quota; `field` names it
  ///   ("max_sandboxes", "cpu_millis" or "max_memory_bytes"), and `limit` its limit. Retry after a release.
  /// - unavailable: no node is registered, or none that could run it has room now (all
  ///   full, down or drained). Retry later.
  result<node_id> place(const placement_request& r);

  /// Frees what a task held. Errors: not_found when the task holds nothing.
  result<placement> release(const task_id& task);

  /// Where a task runs, if it holds a placement.
  std::optional<node_id> node_of(const task_id& task) const;

  /// A node's status, if the node is known.
  std::optional<node_status> status_of(const node_id& id) const;

  std::size_t live_tasks() const noexcept { return live_.size(); }
  strategy current_strategy() const noexcept { return strategy_; }
  scheduler_summary summary() const;

private:
  struct node_slot {
    node_registration reg;
    node_status status = node_status::up;
    std::uint64_t runtime_mask = 0;
    usage used;
  };
  struct tenant_slot {
    placement_quotas quotas;
    usage used;
  };
  struct live_task {
    placement_request request;
    std::size_t node = 0;
    std::uint64_t seq = 0;
  };
  struct scan_result;

  std::uint64_t runtime_bit(const std::string& runtime) const;
  std::uint64_t intern(const std::string& runtime);
  scan_result scan(const placement_request& r, std::uint64_t bit) const;
  double score(const node_slot& n, const placement_request& r) const;
  result<void> check_quota(const placement_request& r) const;
  error never_fits(const placement_request& r, const scan_result& found) const;
  void commit(const placement_request& r, std::size_t node);

  strategy strategy_;
  placement_quotas default_quotas_;
  std::vector<node_slot> nodes_;
  std::unordered_map<node_id, std::size_t> node_index_;
  std::unordered_map<std::string, int> runtime_bits_;
  std::unordered_map<tenant_id, tenant_slot> tenants_;
  std::unordered_map<task_id, live_task> live_;
  std::uint64_t next_seq_ = 0;
};

/// Dominant share of a node: the largest of its cpu, memory and slot fractions in use.
double dominant_share(const node_capacity& capacity, const usage& used) noexcept;

} // namespace aetherium::scheduling
