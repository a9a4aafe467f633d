#pragma once

#include <memory>
#include <string>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::microvm_testing {

/// The microVM adapter over a private state directory, for tests. Needs root, QEMU, the
/// kernel folder in $AETHERIUM_TEST_MICROVM_KERNEL (deploy/images/build-microvm-kernel.sh) and
/// the busybox test image; the error says which is missing.
class microvm_env {
public:
  struct settings {
    bool templates = true;
    std::size_t warm_pool = 0;
    std::string proxy_hosts_file;
    std::vector<std::string> egress_allow_private;
  };
  static result<std::unique_ptr<microvm_env>> make(settings s);
  static result<std::unique_ptr<microvm_env>> make() { return make(settings{}); }
  ~microvm_env();

  sandbox_runtime& runtime() { return *runtime_; }
  /// A microvm spec for the busybox image running as 1000:1000 with a fresh workspace.
  sandbox_spec spec();
  const std::string& state_dir() const { return state_dir_; }
  const std::string& work_dir() const { return work_dir_; }
  /// Makes a fresh runtime over the same state directory (as a restarted server would).
  result<void> restart();
  /// Drops the runtime without its destructor (as a server killed with SIGKILL would: its
  /// VMs keep running), then restarts over the same state directory.
  result<void> abandon();

private:
  settings settings_;
  std::string work_dir_, state_dir_, rootfs_;
  std::unique_ptr<sandbox_runtime> runtime_;
  int workspaces_ = 0;
};

} // namespace aetherium::microvm_testing
