// Placement rate and quality of scheduler_core per strategy, with 10,000 live sandboxes
// over 50 simulated nodes, beside floors measured in the same run: a plain first-fit loop
// over 50 node records (rate), and the fewest nodes the demand could fit on (quality).
//
//   bench_scheduler [live sandboxes, default 10000] [churn placements, default 200000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "events/scheduling/scheduler.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t mib = 1ull << 20;
constexpr std::uint64_t gib = 1ull << 30;
constexpr int node_count = 50;
constexpr int tenant_count = 20;

/// 25 large and 25 small nodes, interleaved; every fifth also offers runsc.
std::vector<node_registration> cluster() {
  std::vector<node_registration> out;
  for (int i = 0; i < node_count; ++i) {
    bool big = i % 2 == 0;
    node_registration n{node_id{"node-" + std::to_string(i)},
                        big ? node_capacity{96000, 256 * gib, 600} : node_capacity{32000, 64 * gib, 200},
                        {"crun", "runc"}, ""};
    if (i % 5 == 0)
      n.runtimes.push_back("runsc");
    out.push_back(std::move(n));
  }
  return out;
}

/// The workload: sandboxes of 100–300 millicores and 256–768 MiB, one in ten on runsc.
struct workload {
  std::vector<placement_request> fill;
  std::vector<placement_request> churn;
  std::vector<std::size_t> victims; ///< Which live slot each churn step releases.
};

workload make_workload(std::size_t live, std::size_t churn) {
  std::mt19937_64 rng{42};
  const std::uint32_t cpus[] = {100, 150, 200, 300};
  const std::uint64_t mems[] = {256 * mib, 384 * mib, 512 * mib, 768 * mib};
  auto request = [&](const std::string& id) {
    return placement_request{task_id{id}, tenant_id{"tenant-" + std::to_string(rng() % tenant_count)},
                             rng() % 10 == 0 ? "runsc" : "crun", cpus[rng() % 4], mems[rng() % 4]};
  };
  workload w;
  for (std::size_t i = 0; i < live; ++i)
    w.fill.push_back(request("t" + std::to_string(i)));
  for (std::size_t i = 0; i < churn; ++i) {
    w.churn.push_back(request("c" + std::to_string(i)));
    w.victims.push_back(static_cast<std::size_t>(rng() % live));
  }
  return w;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct figures {
  double fill_rate = 0;
  double churn_rate = 0;
  std::size_t failures = 0;
  std::size_t nodes_used = 0;
  double max_load = 0;
  double min_load = 0;
};

figures run_core(strategy s, const workload& w) {
  scheduler_core core{s};
  for (auto& n : cluster())
    core.add_node(n);
  for (int t = 0; t < tenant_count; ++t)
    core.set_quotas(tenant_id{"tenant-" + std::to_string(t)}, {5000, 10'000'000, 100'000 * gib});
  figures f;
  std::vector<task_id> live;
  live.reserve(w.fill.size());
  auto start = clock_type::now();
  for (auto& r : w.fill)
    if (core.place(r).ok())
      live.push_back(r.task);
    else
      ++f.failures;
  f.fill_rate = w.fill.size() / seconds_since(start);
  auto summary = core.summary();
  f.nodes_used = summary.nodes_in_use();
  auto [lo, hi] = std::minmax_element(summary.nodes.begin(), summary.nodes.end(),
                                      [](const node_load& a, const node_load& b) { return a.load < b.load; });
  f.min_load = lo->load;
  f.max_load = hi->load;
  start = clock_type::now();
  for (std::size_t i = 0; i < w.churn.size(); ++i) {
    auto& slot = live[w.victims[i] % live.size()];
    (void)core.release(slot);
    if (core.place(w.churn[i]).ok())
      slot = w.churn[i].task;
    else
      ++f.failures;
  }
  f.churn_rate = w.churn.size() / seconds_since(start);
  return f;
}

/// The floor: 50 plain records, the first that fits wins, tasks found by index.
struct floor_node {
  std::uint64_t cpu_cap, mem_cap, slot_cap, cpu = 0, mem = 0, slots = 0;
  bool runsc;
};

figures run_floor(const workload& w) {
  std::vector<floor_node> nodes;
  for (auto& n : cluster())
    nodes.push_back({n.capacity.cpu_millis, n.capacity.memory_bytes, n.capacity.sandbox_slots, 0, 0, 0,
                     n.runtimes.size() == 3});
  auto place = [&](const placement_request& r) -> int {
    bool runsc = r.runtime == "runsc";
    for (int i = 0; i < node_count; ++i) {
      auto& n = nodes[i];
      if ((runsc && !n.runsc) || n.slots + 1 > n.slot_cap || n.cpu + r.cpu_millis > n.cpu_cap
          || n.mem + r.memory_bytes > n.mem_cap)
        continue;
      n.cpu += r.cpu_millis, n.mem += r.memory_bytes, n.slots += 1;
      return i;
    }
    return -1;
  };
  struct held { int node; const placement_request* r; };
  std::vector<held> live;
  figures f;
  auto start = clock_type::now();
  for (auto& r : w.fill)
    live.push_back({place(r), &r});
  f.fill_rate = w.fill.size() / seconds_since(start);
  f.nodes_used = static_cast<std::size_t>(
    std::count_if(nodes.begin(), nodes.end(), [](const floor_node& n) { return n.slots > 0; }));
  start = clock_type::now();
  for (std::size_t i = 0; i < w.churn.size(); ++i) {
    auto& h = live[w.victims[i] % live.size()];
    if (h.node >= 0) {
      auto& n = nodes[h.node];
      n.cpu -= h.r->cpu_millis, n.mem -= h.r->memory_bytes, n.slots -= 1;
    }
    h = {place(w.churn[i]), &w.churn[i]};
  }
  f.churn_rate = w.churn.size() / seconds_since(start);
  return f;
}

/// Fewest nodes whose summed capacity covers the demand in every dimension: no packing
/// can use fewer.
std::size_t nodes_needed(const std::vector<placement_request>& demand) {
  std::uint64_t cpu = 0, mem = 0;
  for (auto& r : demand)
    cpu += r.cpu_millis, mem += r.memory_bytes;
  auto nodes = cluster();
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.capacity.cpu_millis > b.capacity.cpu_millis; });
  std::uint64_t c = 0, m = 0, s = 0;
  std::size_t k = 0;
  while (k < nodes.size() && (c < cpu || m < mem || s < demand.size())) {
    c += nodes[k].capacity.cpu_millis, m += nodes[k].capacity.memory_bytes, s += nodes[k].capacity.sandbox_slots;
    ++k;
  }
  return k;
}

template <class F>
figures median_of_3(F run) {
  figures runs[3] = {run(), run(), run()};
  auto by = [&](double figures::*field) {
    std::sort(std::begin(runs), std::end(runs), [&](auto& a, auto& b) { return a.*field < b.*field; });
    return runs[1].*field;
  };
  figures out = runs[0];
  out.churn_rate = by(&figures::churn_rate);
  out.fill_rate = by(&figures::fill_rate);
  return out;
}

void row(const char* name, const figures& f, const figures& floor) {
  std::printf("%-22s %12.0f %12.0f %7.1f%%  %6zu  %5zu  %9.3f %9.3f\n", name, f.fill_rate, f.churn_rate,
              100.0 * f.churn_rate / floor.churn_rate, f.failures, f.nodes_used, f.max_load, f.min_load);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t live = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  std::size_t churn = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 200000;
  auto w = make_workload(live, churn);
  std::printf("%zu live sandboxes over %d nodes, %zu churn placements (release one, place one), median of 3\n",
              live, node_count, churn);
  auto floor = median_of_3([&] { return run_floor(w); });
  std::printf("%-22s %12s %12s %8s  %6s  %5s  %9s %9s\n", "", "fill /s", "churn /s", "of floor", "failed",
              "nodes", "max load", "min load");
  std::printf("%-22s %12.0f %12.0f %7.1f%%  %6s  %5zu  %9s %9s\n", "floor: first-fit loop", floor.fill_rate,
              floor.churn_rate, 100.0, "-", floor.nodes_used, "-", "-");
  for (auto s : {strategy::bin_pack, strategy::spread, strategy::best_fit})
    row(to_string(s), median_of_3([&] { return run_core(s, w); }), floor);
  std::printf("nodes in use and max/min load (dominant share) are taken after the fill\n");
  std::printf("floor: at least %zu nodes hold this demand (bin_pack quality bound)\n", nodes_needed(w.fill));
  return 0;
}
