#include <gtest/gtest.h>

#include <algorithm>

#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/seccomp_profile.hpp"

using aetherium::sandbox_limits;
using aetherium::sandbox_runtime_kind;
using namespace aetherium::sandbox;
using nlohmann::json;

namespace {

bundle_params params(sandbox_runtime_kind kind) {
  bundle_params p;
  p.runtime = kind;
  p.rootfs_dir = "/images/busybox";
  p.cgroups_path = "/aetherium/ae-000000000001";
  p.init_binary = "/usr/libexec/aetherium/aetherium-sandbox-init";
  p.workspace_host_dir = "/data/ws";
  p.uid = 1000;
  p.gid = 1001;
  p.limits.memory_bytes = 64ull << 20;
  p.limits.pids = 32;
  p.limits.cpu_millis = 500;
  p.limits.tmp_bytes = 8ull << 20;
  return p;
}

const json* find_mount(const json& config, const std::string& dest) {
  for (const auto& m : config["mounts"])
    if (m["destination"] == dest) return &m;
  return nullptr;
}

bool has_option(const json& mount, const std::string& option) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), option) != o.end();
}

} // namespace

TEST(oci_bundle, runs_the_init_as_the_sandbox_user_without_privileges) {
  auto config = make_config(params(sandbox_runtime_kind::crun));
  const auto& process = config["process"];
  EXPECT_EQ(process["user"]["uid"], 1000);
  EXPECT_EQ(process["user"]["gid"], 1001);
  EXPECT_EQ(process["noNewPrivileges"], true);
  EXPECT_EQ(process["args"][0], init_path_in_sandbox);
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"})
    EXPECT_TRUE(process["capabilities"][set].empty()) << set;
  EXPECT_EQ(config["root"]["readonly"], true);
  EXPECT_EQ(config["root"]["path"], "/images/busybox");
}

TEST(oci_bundle, writes_the_limits_into_the_cgroup_resources) {
  auto config = make_config(params(sandbox_runtime_kind::runc));
  const auto& res = config["linux"]["resources"];
  EXPECT_EQ(res["memory"]["limit"], 64ull << 20);
  EXPECT_EQ(res["memory"]["swap"], 64ull << 20);
  EXPECT_EQ(res["pids"]["limit"], 32);
  EXPECT_EQ(res["cpu"]["quota"], 50000);
  EXPECT_EQ(res["cpu"]["period"], 100000);
  EXPECT_EQ(res["devices"][0]["allow"], false);
  EXPECT_EQ(config["linux"]["cgroupsPath"], "/aetherium/ae-000000000001");
}

TEST(oci_bundle, mounts_tmp_size_limited_and_the_workspace_read_write) {
  auto config = make_config(params(sandbox_runtime_kind::crun));
  const json* tmp = find_mount(config, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_TRUE(has_option(*tmp, "size=8388608"));
  const json* ws = find_mount(config, "/workspace");
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ((*ws)["source"], "/data/ws");
  EXPECT_TRUE(has_option(*ws, "rw"));
  EXPECT_TRUE(has_option(*ws, "nosuid"));
  const json* sys = find_mount(config, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_TRUE(has_option(*sys, "ro"));
  EXPECT_EQ(find_mount(config, "/run/secrets"), nullptr);
  EXPECT_EQ(find_mount(config, "/sys/fs/cgroup"), nullptr);
}

TEST(oci_bundle, binds_secrets_read_only_and_noexec) {
  auto p = params(sandbox_runtime_kind::crun);
  p.secrets_host_dir = "/state/ae-1/secrets";
  auto config = make_config(p);
  const json* secrets = find_mount(config, "/run/secrets");
  ASSERT_NE(secrets, nullptr);
  EXPECT_TRUE(has_option(*secrets, "ro"));
  EXPECT_TRUE(has_option(*secrets, "noexec"));
}

TEST(oci_bundle, masks_proc_and_sys_paths) {
  auto linux_section = make_config(params(sandbox_runtime_kind::crun))["linux"];
  auto masked = linux_section["maskedPaths"];
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/proc/kcore"), masked.end());
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/sys/firmware"), masked.end());
  auto ro = linux_section["readonlyPaths"];
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sys"), ro.end());
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sysrq-trigger"), ro.end());
}

TEST(oci_bundle, gets_an_empty_network_namespace_unless_one_is_given) {
  auto p = params(sandbox_runtime_kind::crun);
  auto find_net = [](const json& config) {
    for (const auto& ns : config["linux"]["namespaces"])
      if (ns["type"] == "network") return ns;
    return json();
  };
  EXPECT_FALSE(find_net(make_config(p)).contains("path"));
  p.netns_path = "/run/netns/ae-1";
  EXPECT_EQ(find_net(make_config(p))["path"], "/run/netns/ae-1");
}

TEST(oci_bundle, applies_seccomp_for_crun_and_runc_but_not_runsc) {
  EXPECT_TRUE(make_config(params(sandbox_runtime_kind::crun))["linux"].contains("seccomp"));
  EXPECT_TRUE(make_config(params(sandbox_runtime_kind::runc))["linux"].contains("seccomp"));
  EXPECT_FALSE(make_config(params(sandbox_runtime_kind::runsc))["linux"].contains("seccomp"));
}

TEST(oci_bundle, caps_processes_with_rlimit_nproc_only_under_runsc) {
  auto has_nproc = [](const json& process) {
    for (const auto& r : process["rlimits"])
      if (r["type"] == "RLIMIT_NPROC") return r["hard"].get<int>();
    return -1;
  };
  auto p = params(sandbox_runtime_kind::runsc);
  p.limits.pids = 1024;
  p.process_cap = 32;
  EXPECT_EQ(has_nproc(make_config(p)["process"]), 32);
  EXPECT_EQ(has_nproc(make_config(params(sandbox_runtime_kind::crun))["process"]), -1);
  process_params pp;
  pp.runtime = sandbox_runtime_kind::runsc;
  pp.pids = 40;
  EXPECT_EQ(has_nproc(make_process(pp)), 40);
}

TEST(oci_bundle, describes_an_exec_as_the_sandbox_user_without_privileges) {
  process_params pp;
  pp.argv = {"sh", "-c", "id"};
  pp.env = {"PATH=/bin", "A=b"};
  pp.cwd = "/workspace";
  pp.uid = 1000;
  pp.gid = 1000;
  auto process = make_process(pp);
  EXPECT_EQ(process["args"], json({"sh", "-c", "id"}));
  EXPECT_EQ(process["env"][1], "A=b");
  EXPECT_EQ(process["noNewPrivileges"], true);
  EXPECT_TRUE(process["capabilities"]["effective"].empty());
  EXPECT_EQ(process["user"]["uid"], 1000);
}

TEST(oci_bundle, raises_runsc_limits_to_its_floors_and_fills_defaults) {
  sandbox_limits asked;
  asked.memory_bytes = 64ull << 20;
  asked.pids = 32;
  asked.cpu_millis = 0;
  auto runsc = effective_limits(sandbox_runtime_kind::runsc, asked, runsc_floors{});
  EXPECT_EQ(runsc.memory_bytes, 256ull << 20);
  EXPECT_EQ(runsc.pids, 1024u);
  EXPECT_EQ(runsc.cpu_millis, sandbox_limits{}.cpu_millis);
  auto crun = effective_limits(sandbox_runtime_kind::crun, asked, runsc_floors{});
  EXPECT_EQ(crun.memory_bytes, 64ull << 20);
  EXPECT_EQ(crun.pids, 32u);
}

TEST(seccomp_profile, denies_namespace_and_mount_syscalls) {
  auto profile = make_seccomp_profile();
  EXPECT_EQ(profile["defaultAction"], "SCMP_ACT_ALLOW");
  std::vector<std::string> denied;
  int clone_rules = 0;
  for (const auto& rule : profile["syscalls"]) {
    for (const auto& name : rule["names"]) denied.push_back(name);
    if (rule["names"][0] == "clone") ++clone_rules;
  }
  for (const char* name : {"unshare", "setns", "mount", "bpf", "keyctl", "ptrace", "clone3",
                           "io_uring_setup", "userfaultfd", "perf_event_open"})
    EXPECT_NE(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
  EXPECT_EQ(clone_rules, 7);
}

TEST(oci_bundle, refuses_to_serialize_invalid_utf8) {
  process_params pp;
  pp.argv = {"echo", std::string("\xff\xfe")};
  std::string text;
  EXPECT_FALSE(to_json_text(make_process(pp), text));
  pp.argv = {"echo", "h\xc3\xa9llo"};
  ASSERT_TRUE(to_json_text(make_process(pp), text));
  EXPECT_NE(text.find("h\xc3\xa9llo"), std::string::npos);
}
