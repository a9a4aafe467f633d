#include "tests/integration/sandbox/sandbox_test_env.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/host_mounts.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"
#include "adapters/sandbox/process_runner.hpp"

namespace aetherium::sandbox_testing {
namespace {

namespace fs = std::filesystem;

std::string which(const std::string& name) {
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data()) ? std::string(buf.data()) : std::string();
}

/// The adapter with a warm pool, waiting before each provision until a warm sandbox of
/// the spec's shape is ready, and counting the provisions the pool did not serve.
class warm_only_runtime final : public sandbox_runtime {
public:
  warm_only_runtime(std::unique_ptr<sandbox_runtime> inner, std::shared_ptr<int> cold)
      : inner_(std::move(inner)), pool_(dynamic_cast<sandbox::oci_sandbox_runtime&>(*inner_)),
        cold_(std::move(cold)) {}

  result<sandbox_handle> provision(const sandbox_spec& spec) override {
    bool poolable = pool_.prewarm(spec);
    if (poolable) (void)eventually([&] { return pool_.warm_count(spec) > 0; }, std::chrono::seconds(30));
    auto hits = pool_.warm_hits();
    auto h = pool_.provision(spec);
    if (h && poolable && pool_.warm_hits() == hits) ++*cold_;
    return h;
  }
  result<exit_status> exec(const sandbox_handle& h, const exec_request& r) override { return pool_.exec(h, r); }
  result<void> copy_in(const sandbox_handle& h, const std::string& path, std::string_view bytes,
                       std::uint32_t mode) override {
    return pool_.copy_in(h, path, bytes, mode);
  }
  result<std::string> copy_out(const sandbox_handle& h, const std::string& path, std::uint64_t max) override {
    return pool_.copy_out(h, path, max);
  }
  result<void> signal(const sandbox_handle& h, int sig) override { return pool_.signal(h, sig); }
  result<void> cancel(const sandbox_handle& h) override { return pool_.cancel(h); }
  result<void> destroy(const sandbox_handle& h) override { return pool_.destroy(h); }
  result<sandbox_stats> stats(const sandbox_handle& h) override { return pool_.stats(h); }
  result<std::vector<sandbox_info>> list() override { return pool_.list(); }

  sandbox::oci_sandbox_runtime& pool() { return pool_; }

private:
  std::unique_ptr<sandbox_runtime> inner_;
  sandbox::oci_sandbox_runtime& pool_;
  std::shared_ptr<int> cold_;
};

bool listed_in(const std::string& path, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (path.size() >= id.size() && path.compare(path.size() - id.size(), id.size(), id) == 0) return true;
  return false;
}

} // namespace

result<std::string> test_rootfs() {
  if (const char* env = std::getenv("AETHERIUM_TEST_ROOTFS"); env && *env) {
    if (!fs::is_directory(env))
      return make_error(errc::unavailable, std::string("AETHERIUM_TEST_ROOTFS=") + env + " is not a directory");
    return std::string(env);
  }
  static std::string built;
  if (!built.empty()) return built;
  sandbox::process_request build;
  build.argv = {"/bin/sh", AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh"};
  for (const char* name : {"PATH", "HOME", "AETHERIUM_CACHE"})
    if (const char* v = std::getenv(name)) build.env.push_back(std::string(name) + "=" + v);
  auto ran = sandbox::run_captured(build);
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0)
    return make_error(errc::unavailable, "build-busybox-rootfs.sh failed: " + ran->err);
  std::string path = ran->out.substr(0, ran->out.find('\n'));
  if (!fs::is_directory(path)) return make_error(errc::unavailable, "no rootfs at '" + path + "'");
  built = path;
  return built;
}

result<std::string> runtime_binary(sandbox_runtime_kind kind) {
  std::string name = to_string(kind);
  std::string path = which(name);
  if (path.empty())
    return make_error(errc::unavailable, name + " is not installed: apt-get install -y " + name);
  return path;
}

result<std::unique_ptr<sandbox_env>> sandbox_env::make(sandbox_runtime_kind kind,
                                                       std::string proxy_hosts_file, bool warm_pool,
                                                       std::vector<std::string> egress_allow_private) {
  if (::geteuid() != 0) return make_error(errc::unavailable, "sandbox integration tests need root");
  auto binary = runtime_binary(kind);
  if (!binary) return binary.err();
  auto rootfs = test_rootfs();
  if (!rootfs) return rootfs.err();
  static std::atomic<int> counter{0};
  std::unique_ptr<sandbox_env> env(new sandbox_env());
  env->kind_ = kind;
  env->rootfs_ = *rootfs;
  env->proxy_hosts_file_ = std::move(proxy_hosts_file);
  env->egress_allow_private_ = std::move(egress_allow_private);
  env->warm_pool_ = warm_pool;
  env->state_dir_ = make_temp_dir("aetherium-it");
  env->cgroup_parent_ = "aetherium-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto options = env->options();
  if (warm_pool) options.warm_pool_size = 1;
  auto runtime = make_oci_sandbox_runtime(options);
  if (!runtime) return runtime.err();
  if (warm_pool) env->runtime_ = std::make_unique<warm_only_runtime>(std::move(*runtime), env->cold_provisions_);
  else env->runtime_ = std::move(*runtime);
  return env;
}

oci_sandbox_options sandbox_env::options(bool reap_orphans_at_start) const {
  oci_sandbox_options o;
  o.reap_orphans_at_start = reap_orphans_at_start;
  o.state_dir = state_dir_;
  o.cgroup_parent = cgroup_parent_;
  o.init_binary = AETHERIUM_SANDBOX_INIT;
  o.egress_proxy_binary = AETHERIUM_EGRESS_PROXY;
  o.proxy_hosts_file = proxy_hosts_file_;
  o.egress_allow_private = egress_allow_private_;
  return o;
}

result<std::unique_ptr<sandbox_runtime>> sandbox_env::reopen(bool reap_orphans_at_start) const {
  return make_oci_sandbox_runtime(options(reap_orphans_at_start));
}

int sandbox_env::cold_provisions() const { return *cold_provisions_; }

std::vector<std::string> sandbox_env::warm_ids() const {
  if (!warm_pool_ || !runtime_) return {};
  return static_cast<warm_only_runtime&>(*runtime_).pool().warm_ids();
}

sandbox_env::~sandbox_env() {
  if (runtime_) {
    if (auto all = runtime_->list())
      for (const auto& info : *all) (void)runtime_->destroy(info.handle);
  }
  runtime_.reset(); // a warm pool's sandboxes go with it
  if (auto layout = sandbox::cgroup_layout::detect())
    for (const auto& dir : layout->directories("/" + cgroup_parent_)) ::rmdir(dir.c_str());
  std::error_code ec;
  if (sandbox::mounts_below(state_dir_).empty()) fs::remove_all(state_dir_, ec);
  for (const auto& ws : workspaces_) fs::remove_all(ws, ec);
}

sandbox_spec sandbox_env::spec() {
  sandbox_spec s;
  s.runtime = kind_;
  s.rootfs_dir = rootfs_;
  s.workspace_dir = make_temp_dir("aetherium-ws");
  workspaces_.push_back(s.workspace_dir);
  (void)!::chown(s.workspace_dir.c_str(), 1000, 1000);
  s.uid = 1000;
  s.gid = 1000;
  s.limits.memory_bytes = 128ull << 20;
  s.limits.pids = 64;
  s.limits.cpu_millis = 1000;
  s.limits.tmp_bytes = 8ull << 20;
  s.labels = {{"task", "integration-test"}};
  return s;
}

result<exec_output> sandbox_env::run(const sandbox_handle& h, std::vector<std::string> argv,
                                     std::chrono::milliseconds timeout, std::string stdin_data) {
  exec_output out;
  exec_request request;
  request.argv = std::move(argv);
  request.stdin_data = std::move(stdin_data);
  request.deadline = std::chrono::steady_clock::now() + timeout;
  request.on_output = [&out](output_stream which, std::string_view chunk) {
    (which == output_stream::out ? out.out : out.err).append(chunk);
  };
  auto status = runtime_->exec(h, request);
  if (!status) return status.err();
  out.status = *status;
  return out;
}

result<exec_output> sandbox_env::sh(const sandbox_handle& h, const std::string& script,
                                    std::chrono::milliseconds timeout) {
  return run(h, {"/bin/sh", "-c", script}, timeout);
}

std::vector<std::string> sandbox_env::leftover_cgroups() const {
  std::vector<std::string> left;
  auto layout = sandbox::cgroup_layout::detect();
  if (!layout) return {"cannot detect cgroups: " + layout.err().detail};
  auto warm = warm_ids();
  for (const auto& dir : layout->directories("/" + cgroup_parent_)) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_directory() && !listed_in(entry.path().string(), warm)) left.push_back(entry.path().string());
  }
  return left;
}

std::vector<std::string> sandbox_env::leftover_mounts() const {
  return sandbox::mounts_below(state_dir_);
}

std::vector<std::string> sandbox_env::runtime_containers() const {
  auto binary = runtime_binary(kind_);
  if (!binary) return {binary.err().detail};
  sandbox::process_request list;
  list.argv = {*binary, "--root", state_dir_ + "/runtime/" + to_string(kind_), "list", "--quiet"};
  auto ran = sandbox::run_captured(list);
  if (!ran) return {ran.err().detail};
  std::vector<std::string> ids;
  std::istringstream lines(ran->out);
  std::string line;
  auto warm = warm_ids();
  while (std::getline(lines, line))
    if (!line.empty() && !listed_in(line, warm)) ids.push_back(line);
  return ids;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string status_field(const std::string& status, const std::string& key) {
  std::istringstream lines(status);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    std::string value = line.substr(key.size() + 1);
    auto first = value.find_first_not_of(" \t");
    auto last = value.find_last_not_of(" \t");
    return first == std::string::npos ? "" : value.substr(first, last - first + 1);
  }
  return "<absent>";
}

} // namespace aetherium::sandbox_testing
