#pragma once

// The real control plane (actors/control_plane) and the actors behind it, over in-memory
// ports: what the HTTP tests and the control plane's own tests run against.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "actors/control_plane.hpp"
#include "events/clock.hpp"
#include "events/domain/task.hpp"
#include "events/event_store.hpp"
#include "events/scheduling/node.hpp"
#include "events/scheduling/scheduler.hpp"
#include "events/scheduling/tenant.hpp"

namespace aetherium::testing {

/// Calls `call` with a reply and waits for the answer, at most 30 s (the control plane
/// answers on its own threads).
template <class T, class Call>
result<T> ask(Call call) {
  auto answer = std::make_shared<std::promise<result<T>>>();
  auto future = answer->get_future();
  call([answer](result<T> r) { answer->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return make_error(errc::internal, "no answer");
  return future.get();
}

/// How an in_memory_core is built.
struct in_memory_core_options {
  std::shared_ptr<clock> time;       ///< Stamps commands and events; the system clock when null.
  std::size_t active_task_quota = 0; ///< Live tasks per tenant; 0 = no limit.
  std::vector<std::string> runtimes; ///< What some node offers; empty: not checked.
  std::uint64_t max_log_bytes = 32 << 20;
  /// Called, on a thread of its own, for each task the control plane hands to the
  /// execution plane. None: the task stays where the test puts it.
  std::function<void(const task_id&)> on_run;
};

/// The control plane the server runs, with its task and project registries, the task
/// board projector and the scheduler on a CAF actor system of its own, over the in-memory
/// event store and task log. The execution plane is a stand-in that records which tasks it
/// was told to run or cancel; tests move tasks along with the same commands the task
/// runner sends, so every change is an event decided by the task aggregate.
///
/// Destroying it stops every actor and waits for the actor system to finish.
class in_memory_core {
public:
  explicit in_memory_core(in_memory_core_options options = {});
  ~in_memory_core();
  in_memory_core(const in_memory_core&) = delete;
  in_memory_core& operator=(const in_memory_core&) = delete;

  /// The control plane under test.
  std::shared_ptr<actors::task_control_plane> control() const;

  /// The event store under everything.
  std::shared_ptr<event_store> store() const;

  /// Sends `command` to the task's actor as the task runner does, and answers once the
  /// task board has folded what it recorded. Errors: those of the task aggregate.
  result<domain::task_state> command(const task_id& task, domain::task_command command);

  /// Moves a task to `status` through the commands that lead there from where it is
  /// (requested → scheduled → sandbox_provisioned → running → output_collected → …),
  /// and closes its log when `status` is terminal, as the task runner does. `failed` is
  /// recorded as agent_failed with `detail`. Errors: those of the task aggregate, and
  /// invalid_argument for a status no path reaches from here.
  result<void> advance(const task_id& task, domain::task_status status, std::string detail = {});

  /// Adds output to the task's log. Errors: invalid_transition (the log is closed).
  result<void> append_log(const task_id& task, const std::string& stream, const std::string& text);

  /// Decides `command` on tenant `tenant`'s stream and appends what it decided, as
  /// `aetherium admin tenant` does; answers once the task board has folded it. The
  /// scheduler learns it through its quota feed shortly after. Errors: those of the tenant
  /// aggregate.
  result<void> record_tenant(const tenant_id& tenant, scheduling::tenant_command command);

  /// Asks the scheduler to place a sandbox (see scheduler_core::place).
  result<node_id> place(scheduling::placement_request request);

  /// Gives a task's placement back (the scheduler takes it before any later place).
  void release(const task_id& task);

  /// Registers a node with the scheduler; answers once it is registered.
  result<void> register_node(scheduling::node_registration node);

  /// While false, the event store reports itself unreachable (unavailable) to readiness.
  void set_store_reachable(bool reachable);

  /// Tasks the control plane told the execution plane to run, and to cancel, in order.
  std::vector<task_id> runs() const;
  std::vector<task_id> cancels() const;
  /// Waits until the execution plane was told at least `runs` runs and `cancels` cancels,
  /// or `timeout` passed; true when it was. (The control plane answers without waiting
  /// for the execution plane to read what it was told.)
  bool wait_for_execution(std::size_t runs, std::size_t cancels, std::chrono::milliseconds timeout) const;

  /// Log subscriptions handed out and not yet stopped.
  std::size_t live_log_followers() const;
  /// Waits until live_log_followers() is `n` or `timeout` passed; true when it is.
  bool wait_live_log_followers(std::size_t n, std::chrono::milliseconds timeout) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace aetherium::testing
