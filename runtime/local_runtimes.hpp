#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// The sandboxes one host runs: what `aetherium server` uses for its embedded node and
/// `aetherium node` for itself.
struct local_runtimes {
  std::shared_ptr<sandbox_runtime> sandboxes; ///< OCI runtimes, and microVMs when a kernel is configured.
  std::vector<std::string> offered;           ///< The runtimes that started a sandbox here.
  std::string image;                          ///< The sandbox root filesystem (absolute).
};

/// Opens the sandbox runtimes under `data` (absolute) as `cfg` says, and tries each once
/// with the image: only those that run /bin/true are offered. Errors: invalid_argument
/// (no image, a bad --warm-sandboxes), unavailable (the default runtime does not start).
result<local_runtimes> open_local_runtimes(const config& cfg, const std::string& data);

/// The host's memory (MemTotal).
std::uint64_t host_memory_bytes();

/// How many CPUs this process may use (its affinity mask), at least 1.
std::uint32_t host_cpus();

} // namespace aetherium::runtime
