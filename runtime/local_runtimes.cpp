#include "runtime/local_runtimes.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sched.h>
#include <sstream>

#include "adapters/sandbox/microvm/microvm_sandbox_runtime.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "events/logger.hpp"

namespace aetherium::runtime {

namespace fs = std::filesystem;

namespace {

/// The runtimes that really start a sandbox here: each is tried once with the image (a
/// runtime whose binary is missing, or that this kernel cannot run, is not offered).
std::vector<std::string> runtimes_that_start(sandbox_runtime& rt, const std::string& image, const std::string& scratch) {
  std::vector<std::string> offered;
  std::error_code ec;
  fs::create_directories(scratch, ec);
  for (auto kind : {sandbox_runtime_kind::crun, sandbox_runtime_kind::runc, sandbox_runtime_kind::runsc,
                    sandbox_runtime_kind::microvm}) {
    sandbox_spec spec;
    spec.runtime = kind;
    spec.rootfs_dir = image;
    spec.workspace_dir = scratch;
    spec.labels = {{"probe", "runtime"}};
    auto h = rt.provision(spec);
    exec_request req;
    req.argv = {"/bin/true"};
    auto ran = h ? rt.exec(*h, req) : result<exit_status>{h.err()};
    if (h)
      (void)rt.destroy(*h);
    if (ran && ran->exit_code == 0)
      offered.push_back(to_string(kind));
    else
      log(log_level::info, "runtime not offered",
          {{"runtime", to_string(kind)}, {"reason", ran ? "exit " + std::to_string(ran->exit_code) : ran.err().detail}});
  }
  fs::remove_all(scratch, ec);
  return offered;
}

} // namespace

std::uint64_t host_memory_bytes() {
  std::ifstream info{"/proc/meminfo"};
  std::string key, unit;
  std::uint64_t kib = 0;
  while (info >> key >> kib >> unit)
    if (key == "MemTotal:")
      return kib * 1024;
  return 0;
}

std::uint32_t host_cpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return 1;
}

result<local_runtimes> open_local_runtimes(const config& cfg, const std::string& data) {
  local_runtimes out;
  oci_sandbox_options sandbox;
  sandbox.state_dir = data + "/sandboxes";
  // Reaped by whoever runs tasks here: the leading server (start_leading) or the node (its leave).
  sandbox.reap_orphans_at_start = false;
  const auto& warm = cfg.warm_sandboxes;
  if (warm.empty() || warm.size() > 2 || warm.find_first_not_of("0123456789") != std::string::npos)
    return make_error(errc::invalid_argument, "--warm-sandboxes must be a number from 0 to 99", "warm-sandboxes");
  sandbox.warm_pool_size = static_cast<std::size_t>(std::stoi(warm));
  out.image = cfg.image.empty() ? data + "/images/agent" : fs::absolute(cfg.image).string();
  if (!fs::is_directory(out.image + "/bin"))
    return make_error(errc::invalid_argument,
                      "no sandbox image at " + out.image + " (build one with deploy/images/build-busybox-rootfs.sh "
                      "or build-agent-rootfs.sh and pass --image DIR)", "image");
  std::istringstream ranges(cfg.egress_allow_private);
  for (std::string range; std::getline(ranges, range, ',');)
    if (!range.empty()) sandbox.egress_allow_private.push_back(range);
  // MicroVMs when a kernel folder is configured; the probe below offers microvm only if a
  // VM really starts and runs a command here.
  std::shared_ptr<sandbox_runtime> microvms;
  if (!cfg.microvm_kernel.empty()) {
    microvm_sandbox_options vm;
    vm.state_dir = data + "/microvms";
    vm.kernel_dir = fs::absolute(cfg.microvm_kernel).string();
    vm.accel = cfg.microvm_accel;
    vm.egress_allow_private = sandbox.egress_allow_private;
    auto made = make_microvm_sandbox_runtime(vm);
    if (made)
      microvms = std::move(*made);
    else
      log(log_level::warn, "runtime not offered", {{"runtime", "microvm"}, {"reason", made.err().detail}});
  }
  {
    auto probing = sandbox; // its own adapter: probe sandboxes must not shape the warm pool
    probing.warm_pool_size = 0;
    auto probe = make_oci_sandbox_runtime(probing);
    if (!probe)
      return probe.err();
    auto both = make_runtime_router(std::move(*probe), microvms);
    out.offered = runtimes_that_start(*both, out.image, data + "/probe");
  }
  if (std::find(out.offered.begin(), out.offered.end(), cfg.runtime) == out.offered.end())
    return make_error(errc::unavailable, "the default runtime " + cfg.runtime + " does not start a sandbox here", "runtime");
  auto rt = make_oci_sandbox_runtime(sandbox);
  if (!rt)
    return rt.err();
  out.sandboxes = make_runtime_router(std::move(*rt), microvms);
  return out;
}

} // namespace aetherium::runtime
