// The microVM adapter against real QEMU (TCG here, KVM where it boots), the Debian kernel
// and the busybox image: isolation seen from inside the guest and around QEMU, the
// workspace round trip, lifecycle ends, and cleanup after many runs and after a crash.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "adapters/sandbox/process_runner.hpp"
#include "tests/integration/microvm/microvm_test_env.hpp"
#include "tests/integration/sandbox/socket_responder.hpp"

namespace aetherium::microvm_testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct ran {
  exit_status status;
  std::string out, err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class microvm_sandbox : public ::testing::Test {
protected:
  void SetUp() override { make_env({}); }

  void make_env(microvm_env::settings s) {
    env_.reset();
    auto made = microvm_env::make(std::move(s));
    ASSERT_TRUE(made.ok()) << "cannot run microVMs here: " << made.err().detail;
    env_ = std::move(*made);
  }

  sandbox_runtime& rt() { return env_->runtime(); }

  sandbox_handle provision(sandbox_spec spec) {
    auto h = rt().provision(spec);
    EXPECT_TRUE(h.ok()) << h.err().detail;
    return h ? *h : sandbox_handle{};
  }
  sandbox_handle provision() { return provision(env_->spec()); }

  result<ran> sh(const sandbox_handle& h, const std::string& script, std::chrono::milliseconds timeout = 60s) {
    ran r;
    exec_request req;
    req.argv = {"/bin/sh", "-c", script};
    req.deadline = std::chrono::steady_clock::now() + timeout;
    req.on_output = [&r](output_stream s, std::string_view chunk) { (s == output_stream::out ? r.out : r.err).append(chunk); };
    auto status = rt().exec(h, req);
    if (!status)
      return status.err();
    r.status = *status;
    return r;
  }

  /// The pid of the QEMU behind a handle.
  pid_t qemu_of(const sandbox_handle& h) {
    long pid = 0;
    std::ifstream(env_->state_dir() + "/vms/" + h.id + "/qemu.pid") >> pid;
    return static_cast<pid_t>(pid);
  }

  std::unique_ptr<microvm_env> env_;
};

TEST_F(microvm_sandbox, commands_run_as_the_task_user_under_a_guest_kernel_of_their_own) {
  auto h = provision();
  auto r = sh(h, "id -u; id -g; uname -r; cat /proc/1/cmdline 2>&1 | head -c 40; echo; ls /proc | grep -c '^[0-9]'");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  utsname host{};
  ::uname(&host);
  std::istringstream lines(r->out);
  std::string uid, gid, release;
  lines >> uid >> gid >> release;
  EXPECT_EQ(uid, "1000");
  EXPECT_EQ(gid, "1000");
  EXPECT_NE(release, host.release) << "the guest runs its own kernel";
  EXPECT_NE(release.find("cloud"), std::string::npos) << release;
  EXPECT_EQ(r->out.find("init"), std::string::npos) << "pid 1 (the guest agent) stays hidden: " << r->out;
  auto priv = sh(h, "cat /proc/1/environ; mount -t tmpfs x /tmp/x 2>&1; echo $?; cat /dev/vda 2>&1 | head -c 1; ls /dev");
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(priv->out.find("vda"), std::string::npos) << "no disk device inside: " << priv->out;
}

TEST_F(microvm_sandbox, a_guest_without_an_allow_list_has_no_network_device) {
  auto h = provision();
  auto r = sh(h, "cat /proc/net/dev; wget -q -O - http://1.1.1.1/ 2>&1; echo exit=$?");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out.find("eth"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("ens"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("exit=0"), std::string::npos) << r->out;
}

TEST_F(microvm_sandbox, the_model_gateway_is_reached_through_the_agent_tunnel_only) {
  sandbox_testing::socket_responder gateway("gateway");
  ASSERT_TRUE(gateway.ok());
  auto spec = env_->spec();
  spec.gateway_socket = gateway.path();
  auto h = provision(spec);
  auto r = sh(h, "wget -q -Y off -O - \"$AETHERIUM_MODEL_GATEWAY/v1/messages\"; echo; "
                 "wget -q -Y off -O - http://127.0.0.1:3128/ 2>&1; echo proxy-exit=$?; cat /proc/net/dev");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_NE(r->out.find("gateway saw GET /v1/messages HTTP/1.1"), std::string::npos) << r->out << r->err;
  EXPECT_EQ(r->out.find("proxy-exit=0"), std::string::npos) << "no proxy without an allow list: " << r->out;
  EXPECT_EQ(r->out.find("eth"), std::string::npos) << r->out;
  EXPECT_EQ(gateway.connections(), 1);
}

TEST_F(microvm_sandbox, an_allow_list_admits_only_its_hosts_through_the_host_proxy) {
  // An HTTP server on the host's loopback, named allowed.test and denied.test for the proxy.
  int port = 0;
  sandbox::unique_fd probe{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  port = ntohs(addr.sin_port);
  probe.reset();
  char tmpl[] = "/tmp/aemv-up-XXXXXX"; // outlives the env made below
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string up = tmpl;
  ::chmod(up.c_str(), 0755);
  std::shared_ptr<void> cleanup(nullptr, [up](void*) {
    std::error_code ec;
    fs::remove_all(up, ec);
  });
  std::string www = up + "/www";
  fs::create_directories(www);
  std::ofstream(www + "/index.html") << "hello from upstream\n";
  std::string hosts = up + "/hosts";
  std::ofstream(hosts) << "127.0.0.1 allowed.test denied.test\n";
  sandbox::process_request httpd;
  httpd.argv = {"/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:" + std::to_string(port), "-h", www};
  auto pid = sandbox::spawn_daemon(httpd, up + "/httpd.log");
  ASSERT_TRUE(pid.ok());
  std::shared_ptr<void> stop(nullptr, [p = *pid](void*) {
    ::kill(p, SIGKILL);
    ::waitpid(p, nullptr, 0);
  });
  microvm_env::settings s;
  s.proxy_hosts_file = hosts;
  s.egress_allow_private = {"127.0.0.1/32"};
  make_env(s);
  auto spec = env_->spec();
  spec.network = {network_policy::mode::allow_list, {"allowed.test"}};
  auto h = provision(spec);
  std::string url = ":" + std::to_string(port) + "/index.html";
  auto r = sh(h, "wget -q -O - http://allowed.test" + url + "; echo allowed-exit=$?; wget -q -O - http://denied.test" +
                     url + " 2>&1; echo denied-exit=$?; wget -q -Y off -O - http://127.0.0.1:" + std::to_string(port) +
                     "/ 2>&1; echo direct-exit=$?");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_NE(r->out.find("hello from upstream\nallowed-exit=0"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("denied-exit=0"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("direct-exit=0"), std::string::npos) << "the host's loopback is not the guest's: " << r->out;
}

TEST_F(microvm_sandbox, qemu_runs_unprivileged_confined_and_never_holds_secrets_in_argv) {
  const std::string secret = "s3cr3t-value-91c0";
  auto spec = env_->spec();
  spec.secrets = {{"api_token", secret}};
  auto h = provision(spec);
  pid_t qemu = qemu_of(h);
  ASSERT_GT(qemu, 0);
  std::string status = read_text("/proc/" + std::to_string(qemu) + "/status");
  std::istringstream lines(status);
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(lines, line);)
    if (auto colon = line.find(':'); colon != std::string::npos) {
      auto value = line.find_first_not_of(" \t", colon + 1);
      fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
    }
  EXPECT_NE(fields["Uid"].substr(0, 2), "0\t") << fields["Uid"];
  EXPECT_EQ(fields["NoNewPrivs"], "1");
  EXPECT_EQ(fields["Seccomp"], "2") << "-sandbox on installs a seccomp filter";
  EXPECT_EQ(fields["CapEff"], "0000000000000000");
  for (const char* ns : {"net", "mnt", "ipc", "uts"}) {
    std::error_code ec;
    EXPECT_NE(fs::read_symlink("/proc/self/ns/" + std::string(ns), ec),
              fs::read_symlink("/proc/" + std::to_string(qemu) + "/ns/" + ns, ec))
        << ns;
  }
  EXPECT_NE(read_text("/proc/" + std::to_string(qemu) + "/cgroup").find(h.id), std::string::npos);
  // No network device in the guest's machine, and QEMU itself sits in a network namespace
  // that holds only a loopback device: even a user-mode network would lead nowhere.
  auto argv = read_text("/proc/" + std::to_string(qemu) + "/cmdline");
  EXPECT_NE(argv.find(std::string("-nic") + '\0' + "none" + '\0'), std::string::npos);
  EXPECT_EQ(argv.find("-netdev"), std::string::npos);
  auto devices = read_text("/proc/" + std::to_string(qemu) + "/net/dev");
  EXPECT_NE(devices.find("lo:"), std::string::npos) << devices;
  EXPECT_EQ(devices.find("eth"), std::string::npos) << devices;
  EXPECT_EQ(std::count(devices.begin(), devices.end(), ':'), 1) << devices;
  // No process on the host carries the secret on its command line.
  for (auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    EXPECT_EQ(read_text(entry.path().string() + "/cmdline").find(secret), std::string::npos) << "pid " << name;
  }
  auto r = sh(h, "cat /proc/cmdline; env; stat -c '%a %u %n' /run/secrets/api_token; cat /run/secrets/api_token");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_NE(r->out.find("400 1000 /run/secrets/api_token"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("[REDACTED]"), std::string::npos) << "the value read back is redacted";
  auto first = r->out.find("[REDACTED]");
  EXPECT_EQ(r->out.rfind("[REDACTED]"), first) << "only the file holds it, not the kernel command line or env";
  EXPECT_EQ(r->out.find(secret), std::string::npos);
}

TEST_F(microvm_sandbox, the_workspace_comes_back_through_the_agent_without_following_links) {
  auto spec = env_->spec();
  std::ofstream(spec.workspace_dir + "/README.md") << "original\n";
  ASSERT_EQ(::chown((spec.workspace_dir + "/README.md").c_str(), 1000, 1000), 0);
  auto h = provision(spec);
  auto r = sh(h, "cat README.md && echo changed > README.md && mkdir -p src/deep && echo code > src/deep/a.c && "
                 "ln -s /etc/passwd passwd-link && ln -s /etc etc-link && chmod 4755 src/deep/a.c && echo done");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "original\ndone\n") << r->err;
  EXPECT_EQ(read_text(spec.workspace_dir + "/README.md"), "changed\n");
  EXPECT_EQ(read_text(spec.workspace_dir + "/src/deep/a.c"), "code\n");
  EXPECT_TRUE(fs::is_symlink(spec.workspace_dir + "/passwd-link"));
  EXPECT_EQ(fs::read_symlink(spec.workspace_dir + "/passwd-link"), "/etc/passwd");
  EXPECT_TRUE(fs::is_symlink(spec.workspace_dir + "/etc-link"));
  struct stat st{};
  ASSERT_EQ(::stat((spec.workspace_dir + "/src/deep/a.c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u) << "no setuid bit comes out";
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_FALSE(fs::exists(spec.workspace_dir + "/lost+found"));
  // A command that writes nothing leaves the host's copy as it is; the next write comes back.
  ASSERT_TRUE(sh(h, "cat README.md src/deep/a.c > /dev/null").ok());
  EXPECT_EQ(read_text(spec.workspace_dir + "/src/deep/a.c"), "code\n");
  EXPECT_TRUE(fs::is_symlink(spec.workspace_dir + "/etc-link"));
  auto third = sh(h, "echo more >> README.md && rm -r src");
  ASSERT_TRUE(third.ok()) << third.err().detail;
  EXPECT_EQ(third->status.exit_code, 0) << third->out << third->err;
  EXPECT_EQ(read_text(spec.workspace_dir + "/README.md"), "changed\nmore\n");
  EXPECT_FALSE(fs::exists(spec.workspace_dir + "/src"));
  // The host never mounted the guest's disk.
  EXPECT_EQ(read_text("/proc/self/mountinfo").find(env_->state_dir()), std::string::npos);
}

TEST_F(microvm_sandbox, a_large_stdin_and_output_stream_both_ways_at_once) {
  auto h = provision();
  std::string input;
  for (int i = 0; input.size() < (2u << 20); ++i)
    input += "line " + std::to_string(i) + "\n";
  std::string out;
  exec_request req;
  req.argv = {"cat"};
  req.stdin_data = input;
  req.deadline = std::chrono::steady_clock::now() + 120s;
  req.on_output = [&out](output_stream s, std::string_view chunk) {
    if (s == output_stream::out)
      out.append(chunk);
  };
  auto status = rt().exec(h, req);
  ASSERT_TRUE(status.ok()) << status.err().detail;
  EXPECT_EQ(status->exit_code, 0);
  EXPECT_FALSE(status->timed_out) << "cat writes while its input is still coming: nothing may block";
  EXPECT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);
  req.argv = {"head", "-c", "10"}; // closes its stdin early: the rest is dropped, the VM lives on
  out.clear();
  auto early = rt().exec(h, req);
  ASSERT_TRUE(early.ok()) << early.err().detail;
  EXPECT_EQ(out, "line 0\nlin");
  EXPECT_EQ(sh(h, "echo alive")->out, "alive\n");
}

TEST_F(microvm_sandbox, oom_inside_the_guest_ends_the_command_with_oom_killed) {
  auto spec = env_->spec();
  spec.limits.memory_bytes = 48ull << 20;
  auto h = provision(spec);
  auto r = sh(h, "dd if=/dev/zero of=/dev/null bs=96M count=1");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_TRUE(r->status.oom_killed) << r->status.exit_code << " " << r->err;
  EXPECT_EQ(r->status.signal, SIGKILL);
  auto after = sh(h, "echo still-here");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->out, "still-here\n") << "the VM outlives a command the guest's OOM killer ended";
}

TEST_F(microvm_sandbox, a_qemu_crash_ends_a_running_command_with_a_clear_error) {
  auto h = provision();
  pid_t qemu = qemu_of(h);
  std::thread killer([qemu] {
    std::this_thread::sleep_for(500ms);
    ::kill(qemu, SIGKILL);
  });
  auto r = sh(h, "sleep 60");
  killer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_NE(r.err().detail.find("stopped"), std::string::npos) << r.err().detail;
  EXPECT_EQ(sh(h, "true").err().code, errc::invalid_transition);
  EXPECT_TRUE(rt().destroy(h).ok());
}

TEST_F(microvm_sandbox, a_warm_pool_hands_out_a_started_clone_made_for_the_next_task) {
  microvm_env::settings s;
  s.warm_pool = 1;
  make_env(s);
  auto first = provision();
  // A clone waits in the pool: a VM folder with no sandbox record yet.
  std::string warm;
  for (int i = 0; i < 300 && warm.empty(); ++i) {
    for (auto& entry : fs::directory_iterator(env_->state_dir() + "/vms"))
      if (!fs::exists(entry.path() / "meta.json") && fs::exists(entry.path() / "qemu.pid"))
        warm = entry.path().filename().string();
    if (warm.empty())
      std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(warm.empty()) << "no warm clone appeared";
  auto spec = env_->spec();
  std::ofstream(spec.workspace_dir + "/mine.txt") << "second task\n";
  spec.secrets = {{"token", "pool-secret-1"}};
  auto second = provision(spec);
  EXPECT_EQ(second.id, warm) << "the warm clone was handed out";
  auto r = sh(second, "cat mine.txt; cat /run/secrets/token | wc -c; ls /workspace");
  ASSERT_TRUE(r.ok()) << r.err().detail;
  EXPECT_EQ(r->out, "second task\n13\nmine.txt\n") << "the clone got this spec's workspace and secret";
  EXPECT_EQ(sh(first, "ls /workspace")->out, "") << "the first sandbox's workspace is its own";
}

/// True while `pid` runs (a zombie does not).
bool alive(pid_t pid) {
  auto stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

/// Everything the adapter can leave on the host for `state_dir`: QEMU processes, VM
/// folders (sockets and disks inside), control groups.
std::vector<std::string> leftovers(const std::string& state_dir, const std::string& cgroup_parent_suffix) {
  std::vector<std::string> found;
  for (auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto cmd = read_text(entry.path().string() + "/cmdline");
    if (cmd.find("qemu") != std::string::npos && cmd.find(state_dir) != std::string::npos)
      found.push_back("qemu pid " + name);
  }
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(state_dir + "/vms", ec))
    found.push_back(entry.path().string());
  for (auto& root : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    auto dir = root.path().string() + "/aetherium-test-" + cgroup_parent_suffix;
    for (auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_directory())
        found.push_back(entry.path().string());
  }
  for (auto& entry : fs::directory_iterator("/sys/fs/cgroup/unified/aetherium-test-" + cgroup_parent_suffix, ec))
    if (entry.is_directory())
      found.push_back(entry.path().string());
  return found;
}

TEST_F(microvm_sandbox, a_hundred_mixed_runs_leave_nothing_behind) {
  auto suffix = fs::path(env_->work_dir()).filename().string();
  for (int i = 0; i < 100; ++i) {
    auto h = provision();
    switch (i % 5) {
      case 0: EXPECT_EQ(sh(h, "echo ok")->out, "ok\n"); break;
      case 1: EXPECT_TRUE(sh(h, "sleep 30", 200ms)->status.timed_out); break;
      case 2: {
        std::thread c([&] {
          std::this_thread::sleep_for(100ms);
          (void)rt().cancel(h);
        });
        auto r = sh(h, "sleep 30");
        c.join();
        EXPECT_TRUE(r.ok() && r->status.cancelled);
        break;
      }
      case 3: ::kill(qemu_of(h), SIGKILL); break;
      case 4: EXPECT_EQ(sh(h, "exit 3")->status.exit_code, 3); break;
    }
    ASSERT_TRUE(rt().destroy(h).ok()) << "run " << i;
  }
  auto left = leftovers(env_->state_dir(), suffix);
  EXPECT_TRUE(left.empty()) << left.size() << " left, first: " << (left.empty() ? "" : left.front());
}

TEST_F(microvm_sandbox, vms_orphaned_by_a_killed_server_are_found_and_reaped) {
  microvm_env::settings s;
  s.warm_pool = 1; // a warm clone is an orphan too
  make_env(s);
  auto suffix = fs::path(env_->work_dir()).filename().string();
  auto a = provision();
  auto b = provision();
  pid_t qa = qemu_of(a), qb = qemu_of(b);
  ASSERT_TRUE(alive(qa));
  std::this_thread::sleep_for(3s); // time for the pool to start its clone
  ASSERT_TRUE(env_->abandon().ok()); // as if the server died: its runtime never ran its destructor
  EXPECT_FALSE(alive(qa)) << "the restarted adapter killed the orphan";
  EXPECT_FALSE(alive(qb));
  auto left = leftovers(env_->state_dir(), suffix);
  EXPECT_TRUE(left.empty()) << left.size() << " left, first: " << (left.empty() ? "" : left.front());
  auto again = provision();
  EXPECT_EQ(sh(again, "echo fresh")->out, "fresh\n");
}

} // namespace
} // namespace aetherium::microvm_testing
