#include "adapters/sandbox/oci_sandbox_runtime.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/sandbox/egress_network.hpp"
#include "adapters/sandbox/egress_request.hpp"
#include "adapters/sandbox/host_mounts.hpp"
#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"
#include "adapters/sandbox/spec_checks.hpp"

namespace aetherium {
namespace sandbox {
namespace {

namespace fs = std::filesystem;

} // namespace

oci_sandbox_runtime::oci_sandbox_runtime(oci_sandbox_options options, cgroup_layout layout)
    : options_(std::move(options)), layout_(std::move(layout)) {
  limit_swap_ = layout_.mode() == cgroup_mode::v2 ||
                ::access((layout_.root() + "/memory/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
}

egress_tools oci_sandbox_runtime::egress() const {
  return egress_tools{options_.ip_binary, options_.egress_proxy_binary, options_.nft_binary,
                      options_.proxy_hosts_file, options_.egress_allow_private};
}

std::string oci_sandbox_runtime::sandbox_dir(const std::string& id) const {
  return options_.state_dir + "/sandboxes/" + id;
}

result<runtime_cli> oci_sandbox_runtime::cli_for(sandbox_runtime_kind kind,
                                                 const std::string& egress_id) const {
  const std::string* binary = &options_.crun_binary;
  if (kind == sandbox_runtime_kind::runc) binary = &options_.runc_binary;
  if (kind == sandbox_runtime_kind::runsc) binary = &options_.runsc_binary;
  if (binary->empty())
    return make_error(errc::unavailable, std::string(to_string(kind)) + " is not installed",
                      "runtime");
  runtime_invocation inv;
  inv.kind = kind;
  inv.binary = *binary;
  inv.state_root = options_.state_dir + "/runtime/" + to_string(kind);
  inv.detach_unified_cgroup = kind == sandbox_runtime_kind::crun && layout_.crun_needs_unified_detached();
  // runsc keeps its control socket in the sandbox's network namespace: talk to it there.
  if (kind == sandbox_runtime_kind::runsc && !egress_id.empty())
    inv.runsc_netns = egress_netns_path(egress_id);
  inv.timeout = options_.command_timeout;
  return runtime_cli(std::move(inv));
}

result<void> oci_sandbox_runtime::validate(const sandbox_spec& spec) const {
  if (spec.runtime == sandbox_runtime_kind::microvm)
    return make_error(errc::invalid_argument, "the OCI adapter runs crun, runc and runsc, not microVMs", "runtime");
  return validate_sandbox_spec(spec);
}

result<void> oci_sandbox_runtime::prepare_host(const sandbox_spec& spec, sandbox_meta& meta,
                                               const std::string& dir) {
  if (!spec.secrets.empty()) {
    auto mounted = mount_secrets(dir + "/secrets", spec.secrets, spec.uid, spec.gid);
    if (!mounted) return mounted;
  }
  if (spec.limits.workspace_bytes != 0) {
    if (options_.mkfs_binary.empty())
      return make_error(errc::unavailable, "mkfs.ext4 is not installed", "limits");
    auto mounted = mount_bounded_workspace(dir + "/workspace.img", dir + "/workspace",
                                           spec.limits.workspace_bytes, spec.workspace_dir,
                                           spec.uid, spec.gid, options_.mkfs_binary);
    if (!mounted) return mounted;
  }
  if (meta.egress_proxy) {
    // network none with a gateway: an allow list of no host, so the gateway is the only way out.
    std::vector<std::string> hosts;
    if (spec.network.kind == network_policy::mode::allow_list) hosts = spec.network.allowed_hosts;
    auto network = setup_egress(egress(), meta.id, options_.state_dir + "/egress", hosts, spec.gateway_socket);
    if (!network) return network.err();
    meta.proxy_url = network->proxy_url;
    meta.gateway_url = network->gateway_url;
  }
  return {};
}

result<void> oci_sandbox_runtime::write_bundle(const sandbox_spec& spec, const sandbox_meta& meta,
                                               const std::string& dir, bool serve,
                                               const std::string& secrets_dir) const {
  bundle_params params;
  params.runtime = spec.runtime;
  params.rootfs_dir = spec.rootfs_dir;
  params.cgroups_path = meta.cgroup_path;
  params.init_binary = options_.init_binary;
  params.workspace_host_dir = meta.workspace_root;
  params.secrets_host_dir = secrets_dir;
  if (meta.egress_proxy) params.netns_path = egress_netns_path(meta.id);
  params.uid = spec.uid;
  params.gid = spec.gid;
  runsc_floors floors{options_.runsc_min_memory_bytes, options_.runsc_min_pids};
  params.limits = effective_limits(spec.runtime, spec.limits, floors);
  params.process_cap = spec.limits.pids ? spec.limits.pids : sandbox_limits{}.pids;
  params.limit_swap = limit_swap_;
  params.serve_fd = serve;
  std::string text;
  if (!to_json_text(make_config(params), text))
    return make_error(errc::invalid_argument, "paths must be UTF-8", "rootfs_dir");
  std::ofstream out(dir + "/config.json", std::ios::trunc);
  out << text;
  if (!out.flush()) return make_error(errc::unavailable, "cannot write config.json");
  return {};
}

result<sandbox_handle> oci_sandbox_runtime::provision(const sandbox_spec& spec) {
  if (auto valid = validate(spec); !valid) return valid.err();
  if (std::string key = pool_key(spec); !key.empty()) {
    remember_shape(key, spec);
    // A warm sandbox that cannot be started is gone; the cold path below says why, if it fails too.
    if (auto warm = take_warm(key))
      if (auto started = start_warm(std::move(warm), spec)) return started;
  }
  bool egress = spec.network.kind == network_policy::mode::allow_list || !spec.gateway_socket.empty();
  sandbox_meta meta;
  meta.id = new_sandbox_id();
  auto cli = cli_for(spec.runtime, egress ? meta.id : std::string());
  if (!cli) return cli.err();
  std::string dir = sandbox_dir(meta.id);
  if (::mkdir(dir.c_str(), 0700) != 0)
    return make_error(errc::unavailable, "mkdir " + dir + ": " + std::strerror(errno));
  meta.runtime = spec.runtime;
  meta.labels = spec.labels;
  meta.cgroup_path = "/" + options_.cgroup_parent + "/" + meta.id;
  meta.workspace_root = spec.limits.workspace_bytes ? dir + "/workspace" : spec.workspace_dir;
  meta.uid = spec.uid;
  meta.gid = spec.gid;
  meta.pids = spec.limits.pids ? spec.limits.pids : sandbox_limits{}.pids;
  meta.egress_proxy = egress;
  meta.gateway_socket = spec.gateway_socket;
  meta.created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  // Recorded before anything else exists, so a crash from here on leaves a findable sandbox.
  auto ready = write_meta(dir, meta);
  if (ready) ready = prepare_host(spec, meta, dir);
  if (ready && !meta.proxy_url.empty()) ready = write_meta(dir, meta);
  // gVisor's init runs on the sentry's kernel, where a host socket is no use to it.
  std::unique_ptr<init_channel> channel;
  if (ready && spec.runtime != sandbox_runtime_kind::runsc) {
    auto opened = init_channel::open();
    if (opened) channel = std::make_unique<init_channel>(std::move(*opened));
    else ready = opened.err();
  }
  if (ready)
    ready = write_bundle(spec, meta, dir, channel != nullptr, spec.secrets.empty() ? "" : dir + "/secrets");
  if (ready) ready = cli->launch(meta.id, dir, channel ? channel->init_end() : -1);
  if (channel) channel->close_init_end();
  if (!ready) return with_cleanup_note(ready.err(), teardown(meta, *cli));
  auto box = std::make_shared<live_sandbox>(meta, std::move(*cli));
  box->channel = std::move(channel);
  for (const auto& [name, value] : spec.secrets) box->secret_values.push_back(value);
  std::lock_guard<std::mutex> lock(mu_);
  live_[meta.id] = box;
  return sandbox_handle{meta.id, meta.runtime};
}

result<void> oci_sandbox_runtime::teardown(const sandbox_meta& meta, const runtime_cli& cli) {
  auto deadline = std::chrono::steady_clock::now() + options_.command_timeout;
  std::string dir = sandbox_dir(meta.id);
  result<void> outcome = cli.remove(meta.id);
  if (!meta.cgroup_path.empty()) {
    auto removed = remove_cgroup(layout_, meta.cgroup_path, deadline);
    if (outcome && !removed) outcome = removed;
  }
  if (meta.egress_proxy) {
    auto removed = teardown_egress(egress(), meta.id, options_.state_dir + "/egress");
    if (outcome && !removed) outcome = removed;
  }
  auto unmounted = unmount_below(dir);
  if (!unmounted) return unmounted;
  std::error_code ec;
  if (outcome) fs::remove_all(dir, ec);
  if (outcome && ec) return make_error(errc::unavailable, "remove " + dir + ": " + ec.message());
  return outcome;
}

std::shared_ptr<live_sandbox> oci_sandbox_runtime::find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second;
}

result<void> oci_sandbox_runtime::destroy(const sandbox_handle& handle) {
  if (!valid_sandbox_id(handle.id))
    return make_error(errc::invalid_argument, "not a sandbox id: " + handle.id, "handle");
  std::shared_ptr<live_sandbox> box;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(handle.id);
    if (it != live_.end()) {
      box = it->second;
      live_.erase(it);
    }
  }
  return box ? destroy_live(box) : reap(handle);
}

result<void> oci_sandbox_runtime::destroy_live(const std::shared_ptr<live_sandbox>& box) {
  {
    std::lock_guard<std::mutex> lock(box->mu);
    box->cancelled = true;
  }
  kill_all(*box);
  {
    std::unique_lock<std::mutex> lock(box->mu);
    box->idle.wait_for(lock, options_.command_timeout, [&] { return box->active_execs == 0; });
  }
  auto done = teardown(box->meta, box->cli);
  if (!done) {
    std::lock_guard<std::mutex> lock(mu_);
    live_[box->meta.id] = box;
  }
  return done;
}

result<void> oci_sandbox_runtime::reap(const sandbox_handle& handle) {
  // Not provisioned by this process: remove whatever state a previous one left.
  auto meta = read_meta(sandbox_dir(handle.id));
  sandbox_meta fallback;
  if (!meta) {
    fallback.id = handle.id;
    fallback.runtime = handle.runtime;
    fallback.cgroup_path = "/" + options_.cgroup_parent + "/" + handle.id;
  }
  const sandbox_meta& m = meta ? *meta : fallback;
  auto cli = cli_for(m.runtime, m.egress_proxy ? m.id : std::string());
  if (!cli) return cli.err();
  return teardown(m, *cli);
}

result<sandbox_stats> oci_sandbox_runtime::stats(const sandbox_handle& handle) {
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  auto usage = read_cgroup_usage(layout_, box->meta.cgroup_path);
  if (!usage) return usage.err();
  return sandbox_stats{usage->memory_bytes, usage->cpu_ns, usage->pids, usage->oom_kills};
}

result<std::size_t> oci_sandbox_runtime::live_count() {
  auto pooled = pooled_ids();
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.state_dir + "/sandboxes", ec)) {
    auto id = entry.path().filename().string();
    n += valid_sandbox_id(id) && !pooled.count(id);
  }
  if (ec) return make_error(errc::unavailable, "list state: " + ec.message());
  return n;
}

result<std::vector<sandbox_info>> oci_sandbox_runtime::list() {
  std::vector<sandbox_info> found;
  std::set<std::string> seen = pooled_ids(); // the warm pool's own sandboxes are not the caller's
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.state_dir + "/sandboxes", ec)) {
    std::string id = entry.path().filename().string();
    if (!valid_sandbox_id(id) || seen.count(id)) continue;
    sandbox_info info;
    info.handle.id = id;
    if (auto meta = read_meta(entry.path().string())) {
      info.handle.runtime = meta->runtime;
      info.labels = meta->labels;
    }
    found.push_back(std::move(info));
    seen.insert(id);
  }
  if (ec) return make_error(errc::unavailable, "list state: " + ec.message());
  for (auto kind : {sandbox_runtime_kind::crun, sandbox_runtime_kind::runc, sandbox_runtime_kind::runsc}) {
    auto cli = cli_for(kind);
    if (!cli) continue;
    auto ids = cli->list_ids();
    if (!ids) return ids.err();
    for (const auto& id : *ids) {
      if (!valid_sandbox_id(id)) continue;
      if (seen.insert(id).second) found.push_back(sandbox_info{{id, kind}, {}, false});
      for (auto& info : found)
        if (info.handle.id == id && info.handle.runtime == kind) info.running = true;
    }
  }
  return found;
}

} // namespace sandbox

result<std::unique_ptr<sandbox_runtime>> make_oci_sandbox_runtime(oci_sandbox_options options) {
  using namespace sandbox;
  if (options.state_dir.empty() || options.state_dir[0] != '/')
    return make_error(errc::invalid_argument, "state_dir must be absolute", "state_dir");
  if (auto ranges = parse_cidrs(options.egress_allow_private); !ranges)
    return make_error(errc::invalid_argument, "egress allow-private: " + ranges.err().detail,
                      "egress_allow_private");
  auto layout = cgroup_layout::detect(options.cgroup_root);
  if (!layout) return layout.err();
  options.init_binary = find_helper_binary(options.init_binary, "AETHERIUM_SANDBOX_INIT", "aetherium-sandbox-init");
  if (options.init_binary.empty())
    return make_error(errc::unavailable, "aetherium-sandbox-init not found", "init_binary");
  options.crun_binary = find_in_path(options.crun_binary.empty() ? "crun" : options.crun_binary);
  options.runc_binary = find_in_path(options.runc_binary.empty() ? "runc" : options.runc_binary);
  options.runsc_binary = find_in_path(options.runsc_binary.empty() ? "runsc" : options.runsc_binary);
  options.mkfs_binary = find_in_path(options.mkfs_binary.empty() ? "mkfs.ext4" : options.mkfs_binary);
  options.egress_proxy_binary = find_helper_binary(options.egress_proxy_binary, "AETHERIUM_EGRESS_PROXY",
                                                   "aetherium-egress-proxy");
  options.ip_binary = find_in_path(options.ip_binary.empty() ? "ip" : options.ip_binary);
  options.nft_binary = find_in_path(options.nft_binary.empty() ? "nft" : options.nft_binary);
  std::error_code ec;
  for (const char* sub : {"/sandboxes", "/egress", "/runtime/crun", "/runtime/runc", "/runtime/runsc"}) {
    fs::create_directories(options.state_dir + sub, ec);
    if (ec) return make_error(errc::unavailable, "create " + options.state_dir + sub + ": " + ec.message());
  }
  // Traversable, but never listable by others; the allow-list proxies' files are root's.
  for (const char* sub : {"", "/sandboxes"}) ::chmod((options.state_dir + sub).c_str(), 0711);
  ::chmod((options.state_dir + "/egress").c_str(), 0700);
  bool reap = options.reap_orphans_at_start;
  auto runtime = std::make_unique<oci_sandbox_runtime>(std::move(options), std::move(*layout));
  if (reap) {
    if (auto orphans = runtime->list())
      for (const auto& orphan : *orphans) (void)runtime->destroy(orphan.handle);
  }
  return std::unique_ptr<sandbox_runtime>(std::move(runtime));
}

} // namespace aetherium
