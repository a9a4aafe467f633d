#include "events/memory_sandbox_runtime.hpp"
#include "tests/contract/sandbox_runtime/backend.hpp"

namespace aetherium::testing {
namespace {

struct memory_backend : backend {
  sandbox_runtime& runtime() override { return *runtime_; }
  sandbox_spec spec() override {
    sandbox_spec s;
    s.rootfs_dir = "/images/agent";
    s.workspace_dir = "/workspaces/contract";
    s.uid = s.gid = 1000;
    return s;
  }
  std::shared_ptr<sandbox_runtime> runtime_ = make_memory_sandbox_runtime();
};

} // namespace

std::unique_ptr<backend> make_backend() { return std::make_unique<memory_backend>(); }

} // namespace aetherium::testing
