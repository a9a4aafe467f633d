#include "tests/integration/microvm/microvm_test_env.hpp"

#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/microvm/microvm_sandbox_runtime.hpp"
#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::microvm_testing {

namespace fs = std::filesystem;

result<std::unique_ptr<microvm_env>> microvm_env::make(settings s) {
  if (::geteuid() != 0)
    return make_error(errc::unavailable, "microVM tests run as root");
  const char* kernel = std::getenv("AETHERIUM_TEST_MICROVM_KERNEL");
  if (!kernel || !*kernel)
    return make_error(errc::unavailable,
                      "AETHERIUM_TEST_MICROVM_KERNEL is not set: run deploy/images/build-microvm-kernel.sh and export its "
                      "output (deploy/test.sh does)");
  auto rootfs = sandbox_testing::test_rootfs();
  if (!rootfs)
    return rootfs.err();
  auto env = std::unique_ptr<microvm_env>(new microvm_env);
  env->settings_ = std::move(s);
  env->rootfs_ = *rootfs;
  const char* base = std::getenv("AETHERIUM_TEST_WORK_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/microvm-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    return make_error(errc::unavailable, "mkdtemp " + tmpl);
  env->work_dir_ = buf.data();
  ::chmod(env->work_dir_.c_str(), 0711); // QEMU runs unprivileged below it
  env->state_dir_ = env->work_dir_ + "/state";
  if (auto made = env->restart(); !made)
    return made.err();
  return env;
}

result<void> microvm_env::restart() {
  runtime_.reset();
  microvm_sandbox_options o;
  o.state_dir = state_dir_;
  o.kernel_dir = std::getenv("AETHERIUM_TEST_MICROVM_KERNEL");
  o.guest_agent_binary = AETHERIUM_GUEST_AGENT;
  o.egress_proxy_binary = AETHERIUM_EGRESS_PROXY;
  o.templates = settings_.templates;
  if (const char* cold = std::getenv("AETHERIUM_TEST_MICROVM_COLD"); cold && std::string(cold) == "1")
    o.templates = false; // every VM boots (for comparing, or when cloning fails)
  o.warm_pool_size = settings_.warm_pool;
  o.proxy_hosts_file = settings_.proxy_hosts_file;
  o.egress_allow_private = settings_.egress_allow_private;
  o.cgroup_parent = "aetherium-test-" + fs::path(work_dir_).filename().string();
  o.default_workspace_bytes = 64ull << 20;
  auto rt = make_microvm_sandbox_runtime(o);
  if (!rt)
    return rt.err();
  runtime_ = std::move(*rt);
  return {};
}

result<void> microvm_env::abandon() {
  (void)runtime_.release(); // leaked on purpose: nothing of it may clean up
  return restart();
}

microvm_env::~microvm_env() {
  if (runtime_)
    if (auto all = runtime_->list())
      for (auto& info : *all)
        (void)runtime_->destroy(info.handle);
  runtime_.reset();
  // The adapter removes each VM's group; the parent group is this env's own.
  std::string parent = "aetherium-test-" + fs::path(work_dir_).filename().string();
  std::error_code ec;
  for (auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    ::rmdir((hierarchy.path() / parent).c_str());
    ::rmdir((hierarchy.path() / "unified" / parent).c_str());
  }
  ::rmdir(("/sys/fs/cgroup/" + parent).c_str());
  fs::remove_all(work_dir_, ec);
}

sandbox_spec microvm_env::spec() {
  sandbox_spec s;
  s.runtime = sandbox_runtime_kind::microvm;
  s.rootfs_dir = rootfs_;
  s.workspace_dir = work_dir_ + "/ws-" + std::to_string(++workspaces_);
  fs::create_directories(s.workspace_dir);
  ::chown(s.workspace_dir.c_str(), 1000, 1000);
  s.uid = 1000;
  s.gid = 1000;
  return s;
}

} // namespace aetherium::microvm_testing
