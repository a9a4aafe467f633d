// Figure 3: exec of /bin/true in a crun sandbox on a node, through the cluster's sandbox
// port and a node agent reached over CAF with TLS, beside exec in a sandbox of the local
// OCI adapter and a bare fork/exec. The workspace goes to the node and back with every
// exec; here it is an empty folder, so the figure is the round trip and the tree walks.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/caf_system_config.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "bench/cluster/cluster_bench.hpp"
#include "bench/server_support.hpp"
#include "bench/timing.hpp"
#include "cluster/cluster_messages.hpp"
#include "cluster/cluster_sandbox_runtime.hpp"
#include "cluster/node_agent.hpp"

extern char** environ;

namespace aetherium::bench::cluster {

namespace {

namespace fs = std::filesystem;

/// Both processes: the network layer, TLS (anonymous, loopback) and the cluster's types.
struct network_config : actors::system_config {
  network_config() {
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
    aetherium::cluster::add_cluster_types(*this);
  }
};

std::shared_ptr<sandbox_runtime> oci_runtime(const std::string& state) {
  oci_sandbox_options o;
  o.state_dir = state;
  o.init_binary = AETHERIUM_SANDBOX_INIT;
  auto rt = make_oci_sandbox_runtime(o);
  if (!rt)
    fail("sandbox runtime: " + rt.err().detail);
  return std::shared_ptr<sandbox_runtime>{std::move(*rt)};
}

sandbox_spec spec_of(const std::string& image, const std::string& workspace) {
  sandbox_spec spec;
  spec.rootfs_dir = image;
  spec.workspace_dir = workspace;
  spec.uid = spec.gid = 65534;
  spec.labels = {{"task", "bench"}};
  return spec;
}

/// Milliseconds of each of `n` execs of /bin/true in a fresh sandbox of `rt`, after 10 untimed.
std::vector<double> exec_times(sandbox_runtime& rt, const sandbox_spec& spec, int n) {
  auto h = rt.provision(spec);
  if (!h)
    fail("provision: " + h.err().detail);
  exec_request req;
  req.argv = {"/bin/true"};
  std::vector<double> ms;
  for (int i = 0; i < n + 10; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto ran = rt.exec(*h, req);
    if (!ran || ran->exit_code != 0)
      fail("exec: " + (ran ? "exit " + std::to_string(ran->exit_code) : ran.err().detail));
    if (i >= 10)
      ms.push_back(elapsed_ms(start));
  }
  if (auto gone = rt.destroy(*h); !gone)
    fail("destroy: " + gone.err().detail);
  return ms;
}

std::vector<double> fork_exec_times(int n) {
  std::vector<double> ms;
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  for (int i = 0; i < n + 10; ++i) {
    auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0)
      fail("posix_spawn");
    ::waitpid(pid, nullptr, 0);
    if (i >= 10)
      ms.push_back(elapsed_ms(start));
  }
  return ms;
}

void print_row(const char* what, const std::vector<double>& ms, double floor_p50) {
  auto p50 = percentile(ms, 0.5);
  std::printf("  %-52s %7.2f %7.2f %7.2f", what, p50, percentile(ms, 0.9), percentile(ms, 0.99));
  if (floor_p50 > 0)
    std::printf("   %6.2fx", p50 / floor_p50);
  std::printf("\n");
}

} // namespace

int serve_agent(const std::string& work, const std::string& image) {
  network_config cfg;
  caf::actor_system sys{cfg};
  auto agent = aetherium::cluster::spawn_node_agent(
    sys, {oci_runtime(work + "/node-state"), image, work + "/node-workspaces", 1ull << 30});
  auto port = caf::openssl::publish(agent, 0, "127.0.0.1", true);
  if (!port)
    return 1;
  std::printf("port %u\nready\n", *port);
  std::fflush(stdout);
  for (;;)
    ::pause();
}

void run_exec(const std::string& image, const std::string& work, int execs) {
  fs::create_directories(work + "/empty-workspace");
  fs::create_directories(work + "/node-workspaces");
  std::printf("== exec of /bin/true in a running crun sandbox, %d execs per row (ms)\n", execs);
  std::printf("  %-52s %7s %7s %7s   %s\n", "", "p50", "p90", "p99", "p50 / local");
  auto floor = fork_exec_times(execs);
  auto local = oci_runtime(work + "/local-state");
  auto spec = spec_of(image, work + "/empty-workspace");
  auto here = exec_times(*local, spec, execs);
  network_config cfg;
  caf::actor_system sys{cfg};
  helper_process node{"agent", work, image};
  auto agent = caf::openssl::remote_actor(sys, "127.0.0.1", static_cast<std::uint16_t>(node.port()));
  if (!agent)
    fail("connect to the node agent: " + sys.render(agent.error()));
  auto nodes = std::make_shared<aetherium::cluster::node_directory>();
  nodes->attach("node-1", *agent);
  auto cluster = aetherium::cluster::make_cluster_sandbox_runtime(sys, local, "local", nodes);
  auto remote_spec = spec;
  remote_spec.labels[aetherium::cluster::node_label] = "node-1";
  auto there = exec_times(*cluster, remote_spec, execs);
  auto here_again = exec_times(*local, spec, execs); // the machine may have changed meanwhile
  print_row("floor: fork/exec /bin/true", floor, 0);
  print_row("local OCI adapter (crun, control socket)", here, 0);
  print_row("local OCI adapter, again after the node leg", here_again, 0);
  print_row("node over CAF+TLS, empty workspace shipped both ways", there, percentile(here, 0.5));
  std::printf("  node leg added at p50: %.2f ms over the local adapter\n\n",
              percentile(there, 0.5) - percentile(here, 0.5));
  std::fflush(stdout);
}

} // namespace aetherium::bench::cluster
