// sandbox_bench: how long from "give me a sandbox" to "the first command has exited",
// for crun, runc and runsc through the adapter, beside floors measured in the same run:
// a bare fork/exec, unshare(1) of every namespace, and each runtime's own CLI running the
// same hardened /bin/true bundle. Needs root, the runtimes and the busybox test image
// ($AETHERIUM_TEST_ROOTFS or deploy/images/build-busybox-rootfs.sh).
//
// Usage: sandbox_bench [--runs N] [--runtimes crun,runc,runsc]
#include <algorithm>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/timing.hpp"

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/runtime_cli.hpp"

namespace {

using namespace aetherium;
using steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct row {
  std::string what;
  std::vector<double> ms;
  std::string note;
};

using bench::elapsed_ms;
using bench::percentile;

std::string which(const std::string& name) {
  for (const char* dir : {"/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

bool run_ok(sandbox::process_request r) {
  auto out = sandbox::run_process(r);
  return out && out->exit_code == 0;
}

std::string rootfs() {
  if (const char* env = std::getenv("AETHERIUM_TEST_ROOTFS"); env && *env) return env;
  sandbox::process_request build;
  build.argv = {"/bin/sh", AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh"};
  for (const char* name : {"PATH", "HOME", "AETHERIUM_CACHE"})
    if (const char* v = std::getenv(name)) build.env.push_back(std::string(name) + "=" + v);
  auto ran = sandbox::run_captured(build);
  if (!ran || ran->outcome.exit_code != 0) return {};
  return ran->out.substr(0, ran->out.find('\n'));
}

row measure(const std::string& what, int runs, const std::function<bool()>& once) {
  row r{what, {}, {}};
  for (int i = 0; i < runs; ++i) {
    auto start = steady::now();
    if (!once()) {
      r.note = "failed at run " + std::to_string(i);
      break;
    }
    r.ms.push_back(elapsed_ms(start));
  }
  return r;
}

/// Runs `fn` on every item, ten threads at a time (destroying runsc sandboxes takes ~2 s
/// each on hosts whose pid 1 reaps late).
template <typename T, typename F>
void parallel_each(const std::vector<T>& items, F fn) {
  for (std::size_t at = 0; at < items.size(); at += 10) {
    std::vector<std::thread> threads;
    for (std::size_t i = at; i < std::min(items.size(), at + 10); ++i) threads.emplace_back([&, i] { fn(items[i]); });
    for (auto& t : threads) t.join();
  }
}

/// The runtime's own CLI running a prepared hardened bundle whose process is /bin/true.
row bare_cli(sandbox_runtime_kind kind, const std::string& image, const std::string& work,
             int runs, bool detach_unified) {
  std::string bundle = work + "/bare-" + to_string(kind);
  fs::create_directories(bundle + "/ws");
  sandbox::bundle_params p;
  p.runtime = kind;
  p.rootfs_dir = image;
  p.cgroups_path = "/aetherium-bench/bare-" + std::string(to_string(kind));
  p.init_binary = AETHERIUM_SANDBOX_INIT;
  p.workspace_host_dir = bundle + "/ws";
  p.uid = p.gid = 1000;
  p.limits = sandbox::effective_limits(kind, sandbox_limits{}, sandbox::runsc_floors{});
  auto config = sandbox::make_config(p);
  config["process"]["args"] = {"/bin/true"};
  std::ofstream(bundle + "/config.json") << config.dump();
  sandbox::runtime_invocation inv;
  inv.kind = kind;
  inv.binary = which(to_string(kind));
  inv.state_root = work + "/bare-state-" + to_string(kind);
  sandbox::runtime_cli cli(inv);
  int n = 0;
  std::vector<std::string> ran;
  auto removed = [&] { // not timed: create -> exit is what is measured
    parallel_each(ran, [&cli](const std::string& id) { (void)cli.remove(id); });
    ran.clear();
  };
  auto r = measure(std::string("bare ") + to_string(kind) + " run (static bundle)", runs, [&] {
    std::string id = "bare-" + std::to_string(n++);
    auto request = cli.command({"run", "--bundle", bundle, id});
    request.detach_unified_cgroup = detach_unified;
    bool ok = run_ok(request);
    if (!ok) return false;
    ran.push_back(id);
    if (ran.size() == 10) removed();
    return true;
  });
  removed();
  return r;
}

/// The spec every adapter row provisions: the busybox image, default limits, uid 1000.
sandbox_spec bench_spec(sandbox_runtime_kind kind, const std::string& image, const std::string& work) {
  sandbox_spec spec;
  spec.runtime = kind;
  spec.rootfs_dir = image;
  spec.workspace_dir = work + "/ws";
  spec.uid = spec.gid = 1000;
  return spec;
}

struct adapter_result {
  row latency;
  double idle_memory_mib = 0;
};

/// provision -> exec(/bin/true) exited, through the adapter; destroys off the clock.
adapter_result adapter(sandbox_runtime& rt, sandbox_runtime_kind kind, const std::string& image,
                       const std::string& work, int runs) {
  adapter_result result{{std::string("adapter ") + to_string(kind) + ": provision + exec", {}, {}}};
  std::vector<sandbox_handle> live;
  auto reap = [&] {
    parallel_each(live, [&rt](const sandbox_handle& h) { (void)rt.destroy(h); });
    live.clear();
  };
  double memory_sum = 0;
  for (int i = 0; i < runs; ++i) {
    auto spec = bench_spec(kind, image, work);
    auto start = steady::now();
    auto h = rt.provision(spec);
    if (!h) {
      result.latency.note = "provision failed: " + h.err().detail;
      break;
    }
    live.push_back(*h);
    exec_request request;
    request.argv = {"/bin/true"};
    auto status = rt.exec(*h, request);
    double ms = elapsed_ms(start);
    if (!status || status->exit_code != 0) {
      result.latency.note = "exec failed";
      break;
    }
    result.latency.ms.push_back(ms);
    if (auto s = rt.stats(*h)) memory_sum += static_cast<double>(s->memory_bytes) / (1 << 20);
    if (live.size() == 10) reap();
  }
  reap();
  if (!result.latency.ms.empty()) result.idle_memory_mib = memory_sum / static_cast<double>(result.latency.ms.size());
  return result;
}

/// The same through a warm pool: each timed provision finds a created, not started
/// sandbox (the pool refills between runs, off the clock).
row warm_adapter(sandbox::oci_sandbox_runtime& rt, sandbox_runtime_kind kind, const std::string& image,
                 const std::string& work, int runs) {
  row r{std::string("adapter ") + to_string(kind) + ", warm pool: provision + exec", {}, {}};
  auto spec = bench_spec(kind, image, work);
  if (auto first = rt.provision(spec)) (void)rt.destroy(*first); // makes the shape known
  for (int i = 0; i < runs; ++i) {
    auto until = steady::now() + std::chrono::seconds(30);
    while (rt.warm_count(spec) == 0 && steady::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (rt.warm_count(spec) == 0) {
      r.note = "the pool did not refill";
      break;
    }
    auto start = steady::now();
    auto h = rt.provision(spec);
    if (!h) {
      r.note = "provision failed: " + h.err().detail;
      break;
    }
    exec_request request;
    request.argv = {"/bin/true"};
    auto status = rt.exec(*h, request);
    double ms = elapsed_ms(start);
    (void)rt.destroy(*h);
    if (!status || status->exit_code != 0) {
      r.note = "exec failed";
      break;
    }
    r.ms.push_back(ms);
  }
  return r;
}

/// Host memory one idle sandbox costs: MemAvailable before and after `count` of them
/// exist (kernel objects, runtime state and page cache included, not only the cgroup).
double host_memory_per_sandbox_mib(sandbox_runtime& rt, sandbox_runtime_kind kind, const std::string& image,
                                   const std::string& work, int count) {
  auto available_kib = [] {
    std::ifstream in("/proc/meminfo");
    std::string key;
    long kib = 0;
    while (in >> key >> kib) {
      if (key == "MemAvailable:") return kib;
      in.ignore(64, '\n');
    }
    return 0L;
  };
  std::vector<sandbox_handle> live;
  long before = available_kib();
  for (int i = 0; i < count; ++i) {
    auto spec = bench_spec(kind, image, work);
    auto h = rt.provision(spec);
    if (!h) break;
    live.push_back(*h);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long after = available_kib();
  parallel_each(live, [&rt](const sandbox_handle& h) { (void)rt.destroy(h); });
  if (live.empty()) return 0;
  return static_cast<double>(before - after) / 1024.0 / static_cast<double>(live.size());
}

void print(const std::vector<row>& rows) {
  std::printf("%-44s %8s %8s %8s %6s\n", "create -> first command exited (ms)", "p50", "p90", "p99", "runs");
  for (const auto& r : rows) {
    std::printf("%-44s %8.1f %8.1f %8.1f %6zu %s\n", r.what.c_str(), percentile(r.ms, 0.5),
                percentile(r.ms, 0.9), percentile(r.ms, 0.99), r.ms.size(), r.note.c_str());
  }
}

struct bench_args {
  int runs = 100;
  std::vector<sandbox_runtime_kind> kinds = {sandbox_runtime_kind::crun, sandbox_runtime_kind::runc,
                                             sandbox_runtime_kind::runsc};
};

bench_args parse_args(int argc, char** argv) {
  bench_args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) args.runs = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--runtimes") != 0) continue;
    args.kinds.clear();
    std::string list = argv[i + 1];
    for (std::size_t s = 0; s <= list.size();) {
      std::size_t e = std::min(list.find(',', s), list.size());
      sandbox_runtime_kind k;
      if (parse_sandbox_runtime_kind(list.substr(s, e - s), k)) args.kinds.push_back(k);
      s = e + 1;
    }
  }
  return args;
}

std::vector<row> floors(int runs) {
  std::vector<row> rows;
  rows.push_back(measure("fork/exec /bin/true", runs, [] {
    sandbox::process_request r;
    r.argv = {"/bin/true"};
    return run_ok(r);
  }));
  rows.push_back(measure("unshare -mupinC --fork /bin/true", runs, [] {
    sandbox::process_request r;
    r.argv = {which("unshare"), "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup",
              "--fork", "/bin/true"};
    return run_ok(r);
  }));
  return rows;
}

} // namespace

int main(int argc, char** argv) {
  bench_args args = parse_args(argc, argv);
  if (::geteuid() != 0) {
    std::fprintf(stderr, "sandbox_bench needs root\n");
    return 2;
  }
  std::string image = rootfs();
  if (image.empty()) {
    std::fprintf(stderr, "no busybox image (set AETHERIUM_TEST_ROOTFS or install busybox-static)\n");
    return 1;
  }
  char tmpl[] = "/tmp/aetherium-bench-XXXXXX";
  std::string work = ::mkdtemp(tmpl);
  fs::create_directories(work + "/ws");
  (void)!::chown((work + "/ws").c_str(), 1000, 1000);
  auto layout = sandbox::cgroup_layout::detect();
  bool hybrid = layout && layout->crun_needs_unified_detached();
  oci_sandbox_options options;
  options.state_dir = work + "/state";
  options.init_binary = AETHERIUM_SANDBOX_INIT;
  options.cgroup_parent = "aetherium-bench";
  auto rt = make_oci_sandbox_runtime(options);
  if (!rt) {
    std::fprintf(stderr, "adapter: %s\n", rt.err().detail.c_str());
    return 1;
  }
  options.state_dir = work + "/state-warm";
  options.warm_pool_size = 2;
  auto warm_rt = make_oci_sandbox_runtime(options);
  if (!warm_rt) {
    std::fprintf(stderr, "adapter with a warm pool: %s\n", warm_rt.err().detail.c_str());
    return 1;
  }
  auto& warm = dynamic_cast<sandbox::oci_sandbox_runtime&>(**warm_rt);
  std::vector<row> rows = floors(args.runs);
  std::vector<std::pair<std::string, double>> memory;
  std::vector<std::pair<std::string, double>> host_memory;
  for (auto kind : args.kinds) {
    rows.push_back(bare_cli(kind, image, work, args.runs, kind == sandbox_runtime_kind::crun && hybrid));
    auto measured = adapter(**rt, kind, image, work, args.runs);
    rows.push_back(measured.latency);
    if (kind != sandbox_runtime_kind::runsc) rows.push_back(warm_adapter(warm, kind, image, work, args.runs));
    memory.emplace_back(to_string(kind), measured.idle_memory_mib);
    int count = kind == sandbox_runtime_kind::runsc ? 50 : 200;
    host_memory.emplace_back(std::string(to_string(kind)) + " (" + std::to_string(count) + ")",
                             host_memory_per_sandbox_mib(**rt, kind, image, work, count));
  }
  warm_rt->reset();
  std::printf("cgroups: %s; %d runs each; hardened bundle (no caps, seccomp, read-only root, limits)\n",
              layout ? sandbox::to_string(layout->mode()) : "unknown", args.runs);
  print(rows);
  std::printf("\nidle sandbox memory charged to its cgroup (MiB, mean):");
  for (const auto& [name, mib] : memory) std::printf("  %s %.1f", name.c_str(), mib);
  std::printf("\nhost memory per idle sandbox, MemAvailable drop with (n) live at once (MiB):");
  long total_kib = 0;
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    in >> key >> total_kib;
  }
  for (const auto& [name, mib] : host_memory)
    std::printf("  %s %.2f", name.c_str(), mib);
  // Idle, memory is not what bounds the count; busy, each may use its whole limit.
  std::printf("\nsandboxes at the default 256 MiB limit that fit in %.1f GiB without overcommit: %ld\n",
              static_cast<double>(total_kib) / (1 << 20), total_kib / (256 * 1024));
  std::error_code ec;
  fs::remove_all(work, ec);
  if (layout)
    for (const auto& dir : layout->directories("/aetherium-bench")) ::rmdir(dir.c_str());
  return 0;
}
