// Figure 4: how many nodes one control plane holds. A helper process simulates N nodes on
// one connection: each joins the real node gateway (token check and node.registered
// through the node registry over an in-memory log, registration with the scheduler) and
// then beats once a second, as `aetherium node` does. The control plane's CPU while they
// beat, and a placement's latency with them, are printed beside the same with no nodes.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/caf_system_config.hpp"
#include "actors/scheduling/scheduler_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "adapters/json/event_log_node_registry.hpp"
#include "bench/cluster/cluster_bench.hpp"
#include "bench/server_support.hpp"
#include "bench/timing.hpp"
#include "cluster/cluster_messages.hpp"
#include "cluster/node_gateway.hpp"
#include "runtime/node_command.hpp"

namespace aetherium::bench::cluster {

namespace {

using clock_type = std::chrono::steady_clock;
namespace wire = aetherium::cluster;

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// p50 and p99 (ms) of place+release of one small sandbox, one at a time.
std::pair<double, double> placement_latency(caf::actor_system& sys, const caf::actor& scheduler, int n) {
  caf::scoped_actor self{sys};
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    scheduling::placement_request r{task_id{"bench-" + std::to_string(i)}, tenant_id{"t"}, "crun", 100, 1 << 20};
    auto start = clock_type::now();
    self->request(scheduler, caf::infinite, actors::place_atom::value, r).receive([](actors::placement_outcome&) {},
                                                                                 [](caf::error&) {});
    self->request(scheduler, caf::infinite, actors::release_atom::value, r.task.str())
      .receive([](actors::release_outcome&) {}, [](caf::error&) {});
    ms.push_back(elapsed_ms(start));
  }
  return {percentile(ms, 0.5), percentile(ms, 0.99)};
}

/// The control plane's CPU share (of one core) over `seconds`.
double cpu_share(int seconds) {
  auto cpu = cpu_seconds();
  auto start = clock_type::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return (cpu_seconds() - cpu) / (elapsed_ms(start) / 1000.0);
}

} // namespace

void run_simulated_nodes(const std::vector<int>& counts) {
  actors::system_config cfg;
  if (auto ok = runtime::prepare_node_network(cfg, {}, 30); !ok)
    fail(ok.err().detail);
  caf::actor_system sys{cfg};
  auto time = make_system_clock();
  auto store = make_memory_event_store(time);
  auto registry = make_event_log_node_registry(store, time, make_random_id_generator(), "bench");
  auto token = registry->issue_token("bench", 0);
  if (!token)
    fail(token.err().detail);
  actors::scheduler_options options;
  options.heartbeat_timeout = std::chrono::seconds(10);
  auto scheduler = actors::spawn_scheduler(sys, options);
  auto gateway = wire::spawn_node_gateway(sys, {registry, scheduler, std::make_shared<wire::node_directory>(), time});
  auto port = caf::openssl::publish(gateway, 0, "127.0.0.1", true);
  if (!port)
    fail("publish: " + sys.render(port.error()));
  std::printf("\nsimulated nodes: N nodes on one TLS connection join the node gateway, then beat every second\n");
  std::printf("%8s %10s %12s %14s %14s\n", "nodes", "join s", "cpu share", "place p50 ms", "place p99 ms");
  auto idle_cpu = cpu_share(3);
  auto idle = placement_latency(sys, scheduler, 2000);
  std::printf("%8s %10s %11.1f%% %14.3f %14.3f   (floor: no nodes)\n", "0", "-", 100 * idle_cpu, idle.first, idle.second);
  int offset = 0;
  for (int n : counts) {
    auto start = clock_type::now();
    helper_process nodes{"nodes", std::to_string(*port) + ":" + std::to_string(offset) + ":" + std::to_string(n),
                         token->text};
    auto joined = elapsed_ms(start) / 1000.0;
    auto share = cpu_share(5);
    auto latency = placement_latency(sys, scheduler, 2000);
    std::printf("%8d %10.1f %11.1f%% %14.3f %14.3f\n", n, joined, 100 * share, latency.first, latency.second);
    offset += n; // the next run's nodes are new ones (these are lost when the helper dies)
  }
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
}

int serve_nodes(const std::string& where, const std::string& token) {
  auto first = where.find(':'), second = where.rfind(':');
  auto port = static_cast<std::uint16_t>(std::atoi(where.c_str()));
  int offset = std::atoi(where.c_str() + first + 1), count = std::atoi(where.c_str() + second + 1);
  actors::system_config cfg;
  if (auto ok = runtime::prepare_node_network(cfg, {}, 30); !ok)
    return 2;
  caf::actor_system sys{cfg};
  auto gateway = caf::openssl::remote_actor(sys, "127.0.0.1", port);
  if (!gateway)
    return 2;
  // One agent for all: the gateway only monitors it.
  auto agent = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
  caf::scoped_actor self{sys};
  std::vector<std::pair<std::string, std::string>> joined; // name, credential
  for (int i = 0; i < count; ++i) {
    wire::wire_registration reg;
    reg.node = "sim-" + std::to_string(offset + i);
    reg.cpu_millis = 8000;
    reg.memory_bytes = 16ull << 30;
    reg.sandbox_slots = 8;
    reg.runtimes = {"crun"};
    self->request(*gateway, std::chrono::seconds(60), wire::join_atom::value, reg, token, agent)
      .receive(
        [&](wire::wire_reply& r) {
          if (r.error.code == 0)
            joined.emplace_back(reg.node, r.text);
        },
        [](caf::error&) {});
  }
  std::printf("port 0\nready\n");
  std::fflush(stdout);
  for (;;) {
    auto start = clock_type::now();
    for (auto& [name, credential] : joined)
      self->send(*gateway, wire::beat_atom::value, name, credential);
    // Answers arrive as messages; drop them.
    self->receive_while([&] { return clock_type::now() - start < std::chrono::seconds(1); })(
      [](wire::wire_reply&) {}, caf::after(std::chrono::milliseconds(100)) >> [] {});
  }
}

} // namespace aetherium::bench::cluster
