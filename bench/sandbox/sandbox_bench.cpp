// sandbox_bench: how long from "give me a sandbox" to "the first command has exited",
// for crun, runc and runsc through the adapter, beside floors measured in the same run:
// a bare fork/exec, unshare(1) of every namespace, and each runtime's own CLI running the
// same hardened /bin/true bundle. Needs root, the runtimes and the busybox test image
// ($AETHERIUM_TEST_ROOTFS or deploy/images/build-busybox-rootfs.sh).
//
// Usage: sandbox_bench [--runs N] [--runtimes crun,runc,runsc]
#include <algorithm>
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

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
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

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

double elapsed_ms(steady::time_point start) {
  return std::chrono::duration<double, std::milli>(steady::now() - start).count();
}

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
  return measure(std::string("bare ") + to_string(kind) + " run (static bundle)", runs, [&] {
    std::string id = "bare-" + std::to_string(n++);
    auto request = cli.command({"run", "--bundle", bundle, id});
    request.detach_unified_cgroup = detach_unified;
    bool ok = run_ok(request);
    if (!ok) return false;
    (void)cli.remove(id); // not timed: create -> exit is what is measured
    return true;
  });
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
    std::vector<std::thread> threads;
    for (auto& h : live) threads.emplace_back([&rt, h] { (void)rt.destroy(h); });
    for (auto& t : threads) t.join();
    live.clear();
  };
  double memory_sum = 0;
  for (int i = 0; i < runs; ++i) {
    sandbox_spec spec;
    spec.runtime = kind;
    spec.rootfs_dir = image;
    spec.workspace_dir = work + "/ws";
    spec.uid = spec.gid = 1000;
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
  std::vector<row> rows = floors(args.runs);
  std::vector<std::pair<std::string, double>> memory;
  for (auto kind : args.kinds) {
    rows.push_back(bare_cli(kind, image, work, args.runs, kind == sandbox_runtime_kind::crun && hybrid));
    auto measured = adapter(**rt, kind, image, work, args.runs);
    rows.push_back(measured.latency);
    memory.emplace_back(to_string(kind), measured.idle_memory_mib);
  }
  std::printf("cgroups: %s; %d runs each; hardened bundle (no caps, seccomp, read-only root, limits)\n",
              layout ? sandbox::to_string(layout->mode()) : "unknown", args.runs);
  print(rows);
  std::printf("\nidle sandbox memory charged to its cgroup (MiB, mean):");
  for (const auto& [name, mib] : memory) std::printf("  %s %.1f", name.c_str(), mib);
  std::printf("\n");
  std::error_code ec;
  fs::remove_all(work, ec);
  if (layout)
    for (const auto& dir : layout->directories("/aetherium-bench")) ::rmdir(dir.c_str());
  return 0;
}
