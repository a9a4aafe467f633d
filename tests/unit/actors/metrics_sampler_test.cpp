// The metrics sampler sets the /metrics gauges from the task board and the sandbox runtime.
#include "actors/metrics_sampler.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <caf/all.hpp>

#include "adapters/http/metrics/prometheus_registry.hpp"
#include "events/memory_sandbox_runtime.hpp"
#include "tests/support/in_memory_core.hpp"

namespace aetherium::testing {
namespace {

using namespace aetherium::api;
using namespace std::chrono_literals;

/// Waits until `text()` contains `wanted`, or 10 s pass.
template <class Text>
bool eventually_contains(Text text, const std::string& wanted) {
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(10ms))
    if (text().find(wanted) != std::string::npos)
      return true;
  return false;
}

TEST(metrics_sampler_test, sets_tasks_by_state_and_live_sandboxes) {
  in_memory_core core;
  auto cp = core.control();
  caller acme{tenant_id{"acme"}, "key:1", role::admin};
  create_project_request p;
  p.name = "p";
  p.repo = "https://example.com/r.git";
  std::promise<result<project_view>> made;
  cp->create_project(acme, p, [&](result<project_view> r) { made.set_value(std::move(r)); });
  auto project = made.get_future().get();
  ASSERT_TRUE(project.ok());
  create_task_request r;
  r.project = project->id;
  r.agent_type = "script";
  r.prompt = "echo hi";
  std::promise<result<task_created>> created;
  cp->create_task(acme, r, "", [&](result<task_created> t) { created.set_value(std::move(t)); });
  ASSERT_TRUE(created.get_future().get().ok());

  auto sandboxes = make_memory_sandbox_runtime();
  sandbox_spec spec;
  spec.rootfs_dir = "/nonexistent/rootfs";
  ASSERT_TRUE(sandboxes->provision(spec).ok());
  auto registry = http::make_prometheus_registry();
  auto metrics = register_core_metrics(*registry);

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto sampler = actors::spawn_metrics_sampler(sys, {cp, core.store(), sandboxes, metrics}, caf::actor{}, 20ms);
  auto text = [&] { return registry->render(); };
  EXPECT_TRUE(eventually_contains(text, "aetherium_tasks{state=\"requested\"} 1\n")) << text();
  EXPECT_TRUE(eventually_contains(text, "aetherium_sandboxes_live 1\n")) << text();
  caf::anon_send_exit(sampler, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace aetherium::testing
