// The warm pool of oci_sandbox_runtime: containers created ahead of demand (their init
// waits to be started), handed out by provision for specs of the same shape.
//
// A shape is everything fixed when a container is created: runtime, root filesystem,
// limits, user. What differs per sandbox is put in when one is handed out: the workspace
// and the secrets are mounted into its mount namespace (open_tree + move_mount over the
// empty placeholders its bundle binds), then it is started and its labels recorded.
// A background thread keeps `warm_pool_size` sandboxes ready for each of the
// `warm_pool_shapes` shapes provisioned most recently.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/sandbox/host_mounts.hpp"
#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"

namespace aetherium::sandbox {
namespace {

constexpr const char* placeholder_workspace = "/pool-workspace";
constexpr const char* placeholder_secrets = "/pool-secrets";

pid_t read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = -1;
  in >> pid;
  return in ? static_cast<pid_t>(pid) : -1;
}

} // namespace

std::string oci_sandbox_runtime::pool_key(const sandbox_spec& spec) const {
  // A gateway needs the network namespace and proxy that allow-list networks have.
  if (options_.warm_pool_size == 0 || spec.runtime == sandbox_runtime_kind::runsc ||
      spec.network.kind != network_policy::mode::none || !spec.gateway_socket.empty())
    return {};
  auto limits = effective_limits(spec.runtime, spec.limits, runsc_floors{});
  return std::string(to_string(spec.runtime)) + "|" + spec.rootfs_dir + "|" + std::to_string(limits.memory_bytes) +
         "|" + std::to_string(limits.pids) + "|" + std::to_string(limits.cpu_millis) + "|" +
         std::to_string(limits.tmp_bytes) + "|" + std::to_string(spec.uid) + ":" + std::to_string(spec.gid);
}

void oci_sandbox_runtime::remember_shape(const std::string& key, const sandbox_spec& spec) {
  std::deque<std::unique_ptr<warm_sandbox>> evicted;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!shapes_.empty() && shapes_.front().first == key) return;
    for (auto it = shapes_.begin(); it != shapes_.end(); ++it)
      if (it->first == key) {
        shapes_.erase(it);
        break;
      }
    sandbox_spec shape = spec;
    shape.secrets.clear();
    shape.labels.clear();
    shapes_.emplace_front(key, std::move(shape));
    while (shapes_.size() > std::max<std::size_t>(options_.warm_pool_shapes, 1)) {
      auto& queue = warm_[shapes_.back().first];
      for (auto& warm : queue) evicted.push_back(std::move(warm));
      warm_.erase(shapes_.back().first);
      shapes_.pop_back();
    }
    if (!refiller_.joinable()) refiller_ = std::thread([this] { refill_loop(); });
  }
  pool_changed_.notify_all();
  for (auto& warm : evicted) (void)teardown(warm->meta, warm->cli);
}

std::unique_ptr<warm_sandbox> oci_sandbox_runtime::take_warm(const std::string& key) {
  std::unique_ptr<warm_sandbox> out;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    auto it = warm_.find(key);
    if (it == warm_.end() || it->second.empty()) return nullptr;
    out = std::move(it->second.front());
    it->second.pop_front();
  }
  pool_changed_.notify_all();
  return out;
}

bool oci_sandbox_runtime::prewarm(const sandbox_spec& spec) {
  if (!validate(spec)) return false;
  std::string key = pool_key(spec);
  if (key.empty()) return false;
  remember_shape(key, spec);
  return true;
}

std::vector<std::string> oci_sandbox_runtime::warm_ids() {
  std::vector<std::string> ids;
  std::lock_guard<std::mutex> lock(pool_mu_);
  for (const auto& [key, queue] : warm_)
    for (const auto& warm : queue) ids.push_back(warm->meta.id);
  return ids;
}

std::size_t oci_sandbox_runtime::warm_count(const sandbox_spec& spec) {
  std::string key = pool_key(spec);
  std::lock_guard<std::mutex> lock(pool_mu_);
  auto it = warm_.find(key);
  return it == warm_.end() ? 0 : it->second.size();
}

result<std::unique_ptr<warm_sandbox>> oci_sandbox_runtime::make_warm(const sandbox_spec& shape,
                                                                     const std::string& id) {
  auto cli = cli_for(shape.runtime);
  if (!cli) return cli.err();
  sandbox_meta meta;
  meta.id = id;
  std::string dir = sandbox_dir(meta.id);
  if (::mkdir(dir.c_str(), 0700) != 0)
    return make_error(errc::unavailable, "mkdir " + dir + ": " + std::strerror(errno));
  meta.runtime = shape.runtime;
  meta.labels = {{"aetherium.warm", "1"}};
  meta.cgroup_path = "/" + options_.cgroup_parent + "/" + meta.id;
  meta.workspace_root = dir + placeholder_workspace;
  meta.uid = shape.uid;
  meta.gid = shape.gid;
  meta.pids = shape.limits.pids ? shape.limits.pids : sandbox_limits{}.pids;
  meta.created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto warm = std::make_unique<warm_sandbox>(meta, *cli);
  auto ready = write_meta(dir, meta);
  for (const char* sub : {placeholder_workspace, placeholder_secrets})
    if (ready && ::mkdir((dir + sub).c_str(), 0500) != 0)
      ready = make_error(errc::unavailable, "mkdir " + dir + sub + ": " + std::strerror(errno));
  if (ready) {
    auto opened = init_channel::open();
    if (opened) warm->channel = std::make_unique<init_channel>(std::move(*opened));
    else ready = opened.err();
  }
  if (ready) ready = write_bundle(shape, meta, dir, true, dir + placeholder_secrets);
  if (ready) ready = cli->create(meta.id, dir, warm->channel->init_end(), dir + "/init.pid");
  if (warm->channel) warm->channel->close_init_end();
  if (ready && (warm->init_pid = read_pid_file(dir + "/init.pid")) <= 0)
    ready = make_error(errc::unavailable, "the runtime wrote no pid file for " + meta.id);
  if (!ready) return with_cleanup_note(ready.err(), teardown(meta, *cli));
  return warm;
}

result<sandbox_handle> oci_sandbox_runtime::start_warm(std::unique_ptr<warm_sandbox> warm,
                                                       const sandbox_spec& spec) {
  sandbox_meta meta = warm->meta;
  std::string dir = sandbox_dir(meta.id);
  meta.labels = spec.labels;
  meta.workspace_root = spec.limits.workspace_bytes ? dir + "/workspace" : spec.workspace_dir;
  auto ready = prepare_host(spec, meta, dir);
  if (ready) ready = inject_mount(warm->init_pid, meta.workspace_root, "/workspace", false);
  if (ready && !spec.secrets.empty()) ready = inject_mount(warm->init_pid, dir + "/secrets", "/run/secrets", true);
  if (ready) ready = warm->cli.start(meta.id);
  if (ready) ready = write_meta(dir, meta);
  if (!ready) return with_cleanup_note(ready.err(), teardown(meta, warm->cli));
  auto box = std::make_shared<live_sandbox>(meta, warm->cli);
  box->channel = std::move(warm->channel);
  ++warm_hits_;
  for (const auto& [name, value] : spec.secrets) box->secret_values.push_back(value);
  std::lock_guard<std::mutex> lock(mu_);
  live_[meta.id] = box;
  return sandbox_handle{meta.id, meta.runtime};
}

void oci_sandbox_runtime::refill_loop() {
  std::unique_lock<std::mutex> lock(pool_mu_);
  while (!stopping_) {
    const std::pair<std::string, sandbox_spec>* wanted = nullptr;
    for (const auto& shape : shapes_)
      if (warm_[shape.first].size() < options_.warm_pool_size) {
        wanted = &shape;
        break;
      }
    if (!wanted) {
      pool_changed_.wait(lock);
      continue;
    }
    std::string key = wanted->first;
    sandbox_spec shape = wanted->second;
    std::string id = new_sandbox_id();
    making_.insert(id); // hidden from list() while it is made
    lock.unlock();
    auto made = make_warm(shape, id);
    lock.lock();
    making_.erase(id);
    if (!made) {
      // The runtime refuses this shape now (out of pids, memory, disk...): try again later
      // rather than spin; provision keeps working cold meanwhile.
      pool_changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      continue;
    }
    bool still_wanted = false;
    for (const auto& s : shapes_) still_wanted = still_wanted || s.first == key;
    if (stopping_ || !still_wanted) {
      auto unused = std::move(*made);
      lock.unlock();
      (void)teardown(unused->meta, unused->cli);
      lock.lock();
      continue;
    }
    warm_[key].push_back(std::move(*made));
  }
}

std::set<std::string> oci_sandbox_runtime::pooled_ids() {
  std::lock_guard<std::mutex> lock(pool_mu_);
  std::set<std::string> ids = making_;
  for (const auto& [key, queue] : warm_)
    for (const auto& warm : queue) ids.insert(warm->meta.id);
  return ids;
}

oci_sandbox_runtime::~oci_sandbox_runtime() {
  std::map<std::string, std::deque<std::unique_ptr<warm_sandbox>>> warm;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    stopping_ = true;
  }
  pool_changed_.notify_all();
  if (refiller_.joinable()) refiller_.join();
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    warm.swap(warm_);
  }
  for (auto& [key, queue] : warm)
    for (auto& sandbox : queue) (void)teardown(sandbox->meta, sandbox->cli);
}

} // namespace aetherium::sandbox
