#include "events/scheduling/scheduler.hpp"

#include <algorithm>
#include <bitset>

namespace aetherium::scheduling {

namespace {

constexpr std::size_t none = static_cast<std::size_t>(-1);

bool same_resources(const placement_request& a, const placement_request& b) {
  return a.tenant == b.tenant && a.runtime == b.runtime && a.cpu_millis == b.cpu_millis
         && a.memory_bytes == b.memory_bytes && a.only_on == b.only_on;
}

bool fits(const node_capacity& cap, const usage& used, const placement_request& r) {
  return used.sandboxes < cap.sandbox_slots && used.cpu_millis + r.cpu_millis <= cap.cpu_millis
         && used.memory_bytes + r.memory_bytes <= cap.memory_bytes;
}

result<void> validate(const placement_request& r) {
  auto bad = [](const char* field, const char* why) { return make_error(errc::invalid_argument, why, field); };
  if (r.task.empty())
    return bad("task", "task id must not be empty");
  if (r.tenant.empty())
    return bad("tenant", "tenant must not be empty");
  if (r.runtime.empty())
    return bad("runtime", "runtime must not be empty");
  if (r.cpu_millis == 0)
    return bad("cpu_millis", "a sandbox needs some cpu");
  if (r.memory_bytes == 0)
    return bad("memory_bytes", "a sandbox needs some memory");
  return {};
}

void add(usage& u, const placement_request& r) {
  u.sandboxes += 1;
  u.cpu_millis += r.cpu_millis;
  u.memory_bytes += r.memory_bytes;
}

void remove(usage& u, const placement_request& r) {
  u.sandboxes -= 1;
  u.cpu_millis -= r.cpu_millis;
  u.memory_bytes -= r.memory_bytes;
}

/// Fewer unneeded runtimes first, then the lower score, then the larger node (fewer nodes
/// for the same work); the earlier registered node keeps a full tie.
template <class Node>
bool better(std::size_t extra, double score, const Node& n, std::size_t best_extra, double best_score,
            const Node& best) {
  if (extra != best_extra)
    return extra < best_extra;
  if (score != best_score)
    return score < best_score;
  return n.reg.capacity.cpu_millis > best.reg.capacity.cpu_millis;
}

} // namespace

/// What one pass over the nodes found: the best node with room now, and whether any node
/// could ever run the request.
struct scheduler_core::scan_result {
  std::size_t best = none;
  bool runtime_known = false;
  bool could_ever = false;
  std::uint32_t max_cpu = 0;
  std::uint64_t max_memory = 0;
};

const char* to_string(strategy s) noexcept {
  switch (s) {
    case strategy::bin_pack: return "bin_pack";
    case strategy::spread: return "spread";
    case strategy::best_fit: return "best_fit";
  }
  return "bin_pack";
}

bool parse_strategy(std::string_view name, strategy& out) noexcept {
  if (name == "bin_pack" || name == "bin-pack")
    out = strategy::bin_pack;
  else if (name == "spread")
    out = strategy::spread;
  else if (name == "best_fit" || name == "best-fit")
    out = strategy::best_fit;
  else
    return false;
  return true;
}

double dominant_share(const node_capacity& cap, const usage& used) noexcept {
  auto frac = [](double a, double b) { return b > 0 ? a / b : 1.0; };
  return std::max({frac(used.cpu_millis, cap.cpu_millis), frac(used.memory_bytes, cap.memory_bytes),
                   frac(used.sandboxes, cap.sandbox_slots)});
}

std::size_t scheduler_summary::nodes_in_use() const {
  return static_cast<std::size_t>(
    std::count_if(nodes.begin(), nodes.end(), [](const node_load& n) { return n.used.sandboxes > 0; }));
}

scheduler_core::scheduler_core(strategy s, placement_quotas default_quotas)
    : strategy_(s), default_quotas_(default_quotas) {}

std::uint64_t scheduler_core::runtime_bit(const std::string& runtime) const {
  auto it = runtime_bits_.find(runtime);
  return it == runtime_bits_.end() ? 0 : std::uint64_t{1} << it->second;
}

std::uint64_t scheduler_core::intern(const std::string& runtime) {
  auto it = runtime_bits_.find(runtime);
  if (it != runtime_bits_.end())
    return std::uint64_t{1} << it->second;
  if (runtime_bits_.size() >= 64)
    return 0;
  int bit = static_cast<int>(runtime_bits_.size());
  runtime_bits_.emplace(runtime, bit);
  return std::uint64_t{1} << bit;
}

void scheduler_core::add_node(const node_registration& n) {
  std::uint64_t mask = 0;
  for (auto& rt : n.runtimes)
    mask |= intern(rt);
  auto [it, fresh] = node_index_.emplace(n.id, nodes_.size());
  if (fresh)
    nodes_.push_back(node_slot{});
  auto& slot = nodes_[it->second];
  slot.reg = n;
  slot.status = node_status::up;
  slot.runtime_mask = mask;
}

void scheduler_core::drain(const node_id& id) {
  auto it = node_index_.find(id);
  if (it != node_index_.end() && nodes_[it->second].status == node_status::up)
    nodes_[it->second].status = node_status::drained;
}

std::vector<rescheduled> scheduler_core::mark_down(const node_id& id) {
  auto it = node_index_.find(id);
  if (it == node_index_.end() || nodes_[it->second].status == node_status::down)
    return {};
  std::size_t index = it->second;
  nodes_[index].status = node_status::down;
  std::vector<live_task> evicted;
  for (auto& [task, live] : live_)
    if (live.node == index)
      evicted.push_back(live);
  std::sort(evicted.begin(), evicted.end(), [](const live_task& a, const live_task& b) { return a.seq < b.seq; });
  std::vector<rescheduled> out;
  out.reserve(evicted.size());
  for (auto& e : evicted) {
    (void)release(e.request.task); // the task is placed again below either way
    out.push_back(rescheduled{e.request, id, place(e.request)});
  }
  return out;
}

void scheduler_core::set_quotas(const tenant_id& tenant, const placement_quotas& quotas) {
  tenants_[tenant].quotas = quotas;
}

double scheduler_core::score(const node_slot& n, const placement_request& r) const {
  switch (strategy_) {
    case strategy::bin_pack: return -dominant_share(n.reg.capacity, n.used);
    case strategy::spread: return dominant_share(n.reg.capacity, n.used);
    case strategy::best_fit: break;
  }
  auto& cap = n.reg.capacity;
  double cpu_left = double(cap.cpu_millis - n.used.cpu_millis - r.cpu_millis) / r.cpu_millis;
  double mem_left = double(cap.memory_bytes - n.used.memory_bytes - r.memory_bytes) / r.memory_bytes;
  double slots_left = double(cap.sandbox_slots - n.used.sandboxes - 1);
  return std::min({cpu_left, mem_left, slots_left});
}

scheduler_core::scan_result scheduler_core::scan(const placement_request& r, std::uint64_t bit) const {
  scan_result found;
  double best_score = 0;
  std::size_t best_extra = 0;
  bool keep_scarce = strategy_ != strategy::spread;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if ((n.runtime_mask & bit) == 0 || (!r.only_on.empty() && n.reg.id != r.only_on))
      continue;
    found.runtime_known = true;
    found.max_cpu = std::max(found.max_cpu, n.reg.capacity.cpu_millis);
    found.max_memory = std::max(found.max_memory, n.reg.capacity.memory_bytes);
    if (n.reg.capacity.cpu_millis >= r.cpu_millis && n.reg.capacity.memory_bytes >= r.memory_bytes)
      found.could_ever = true;
    if (n.status != node_status::up || !fits(n.reg.capacity, n.used, r))
      continue;
    // Packing strategies keep nodes with runtimes this sandbox does not need for the
    // sandboxes that do; spread keeps every node equally loaded instead.
    std::size_t extra = keep_scarce ? std::bitset<64>(n.runtime_mask & ~bit).count() : 0;
    double s = score(n, r);
    if (found.best == none || better(extra, s, n, best_extra, best_score, nodes_[found.best])) {
      found.best = i;
      best_score = s;
      best_extra = extra;
    }
  }
  return found;
}

error scheduler_core::never_fits(const placement_request& r, const scan_result& found) const {
  if (!found.runtime_known && !r.only_on.empty())
    return make_error(errc::invalid_argument,
                      "node " + r.only_on.str() + ", the only one this sandbox may run on, is unknown or offers no runtime "
                        + r.runtime,
                      "runtime");
  if (!found.runtime_known)
    return make_error(errc::invalid_argument, "no node offers runtime " + r.runtime, "runtime");
  if (r.cpu_millis > found.max_cpu)
    return make_error(errc::invalid_argument,
                      "no " + r.runtime + " node has " + std::to_string(r.cpu_millis) + " millicores", "cpu_millis");
  if (r.memory_bytes > found.max_memory)
    return make_error(errc::invalid_argument,
                      "no " + r.runtime + " node has " + std::to_string(r.memory_bytes) + " bytes of memory",
                      "memory_bytes");
  return make_error(errc::invalid_argument, "no " + r.runtime + " node has both the cpu and the memory asked for",
                    "cpu_millis");
}

result<void> scheduler_core::check_quota(const placement_request& r) const {
  auto it = tenants_.find(r.tenant);
  const placement_quotas& q = it == tenants_.end() ? default_quotas_ : it->second.quotas;
  usage used = it == tenants_.end() ? usage{} : it->second.used;
  auto over = [&](const char* field, const std::string& what, std::uint64_t limit) {
    auto e = make_error(errc::quota_exceeded, "tenant " + r.tenant.str() + " would exceed its " + what + " quota", field);
    e.limit = limit;
    return e;
  };
  if (used.sandboxes + 1ull > q.max_sandboxes)
    return over("max_sandboxes", "sandboxes (" + std::to_string(q.max_sandboxes) + ")", q.max_sandboxes);
  if (used.cpu_millis + r.cpu_millis > q.cpu_millis)
    return over("cpu_millis", "cpu (" + std::to_string(q.cpu_millis) + " millicores)", q.cpu_millis);
  if (used.memory_bytes + r.memory_bytes > q.memory_bytes)
    return over("max_memory_bytes", "memory (" + std::to_string(q.memory_bytes) + " bytes)", q.memory_bytes);
  return {};
}

void scheduler_core::commit(const placement_request& r, std::size_t node) {
  add(nodes_[node].used, r);
  auto t = tenants_.find(r.tenant);
  if (t == tenants_.end())
    t = tenants_.emplace(r.tenant, tenant_slot{default_quotas_, {}}).first;
  add(t->second.used, r);
  live_.emplace(r.task, live_task{r, node, next_seq_++});
}

result<node_id> scheduler_core::place(const placement_request& r) {
  if (auto ok = validate(r); !ok)
    return ok.err();
  if (auto it = live_.find(r.task); it != live_.end()) {
    if (!same_resources(it->second.request, r))
      return make_error(errc::conflict, "task " + r.task.str() + " is placed already with other resources");
    return nodes_[it->second.node].reg.id;
  }
  if (nodes_.empty())
    return make_error(errc::unavailable, "no node is registered");
  auto found = scan(r, runtime_bit(r.runtime));
  if (!found.could_ever)
    return never_fits(r, found);
  if (auto ok = check_quota(r); !ok)
    return ok.err();
  if (found.best == none)
    return make_error(errc::unavailable, "no " + r.runtime + " node has room now");
  commit(r, found.best);
  return nodes_[found.best].reg.id;
}

result<placement> scheduler_core::release(const task_id& task) {
  auto it = live_.find(task);
  if (it == live_.end())
    return make_error(errc::not_found, "task " + task.str() + " holds no placement");
  auto& live = it->second;
  remove(nodes_[live.node].used, live.request);
  remove(tenants_[live.request.tenant].used, live.request);
  placement out{std::move(live.request), nodes_[live.node].reg.id};
  live_.erase(it);
  return out;
}

std::optional<node_id> scheduler_core::node_of(const task_id& task) const {
  auto it = live_.find(task);
  if (it == live_.end())
    return std::nullopt;
  return nodes_[it->second.node].reg.id;
}

std::optional<node_status> scheduler_core::status_of(const node_id& id) const {
  auto it = node_index_.find(id);
  if (it == node_index_.end())
    return std::nullopt;
  return nodes_[it->second].status;
}

scheduler_summary scheduler_core::summary() const {
  scheduler_summary out;
  out.strat = strategy_;
  out.live_tasks = live_.size();
  for (auto& n : nodes_)
    out.nodes.push_back(node_load{n.reg.id, n.status, n.reg.capacity, n.reg.runtimes, n.used,
                                  dominant_share(n.reg.capacity, n.used), n.reg.address});
  for (auto& [id, t] : tenants_)
    out.tenants.push_back(tenant_load{id, t.quotas, t.used});
  std::sort(out.tenants.begin(), out.tenants.end(), [](const tenant_load& a, const tenant_load& b) { return a.id < b.id; });
  return out;
}

} // namespace aetherium::scheduling
