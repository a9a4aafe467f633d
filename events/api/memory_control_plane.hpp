#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "events/api/control_plane.hpp"
#include "events/clock.hpp"

namespace aetherium::api {

/// An in-memory control plane for tests and benchmarks: the same contract as the real one
/// (tenant scoping, idempotency keys, transitions, audit events), nothing durable, every
/// reply given before the call returns. The extra methods drive what the execution plane
/// would do. Thread-safe.
class memory_control_plane : public control_plane {
public:
  /// Records `task.<status>` on the task's stream and moves the task there, without
  /// checking the transition (the execution plane's job). Reaching a terminal status closes
  /// the task's log. Errors: not_found.
  virtual result<void> set_task_status(const task_id& id, task_status status, std::string reason = {}) = 0;

  /// Adds output to the task's log (kept, bounded by `max_log_bytes` per task).
  /// Errors: not_found, invalid_transition (the log is closed).
  virtual result<void> append_log(const task_id& id, std::string stream, std::string text) = 0;

  /// Adds or replaces a node.
  virtual void put_node(node_view node) = 0;

  /// What readiness() answers from now on.
  virtual void set_readiness(result<void> answer) = 0;

  /// At most `n` tasks of one tenant may be live (not terminal) at once; 0 = no limit.
  virtual void set_active_task_quota(std::size_t n) = 0;

  /// Log subscriptions handed out by follow_task_logs and not yet stopped or destroyed.
  virtual std::size_t live_log_followers() = 0;

  /// Waits until live_log_followers() equals `n` or `timeout` passed; true when it did.
  virtual bool wait_live_log_followers(std::size_t n, std::chrono::milliseconds timeout) = 0;
};

/// A fresh, empty in-memory control plane.
std::shared_ptr<memory_control_plane> make_memory_control_plane(std::shared_ptr<clock> clock,
                                                                std::shared_ptr<id_generator> ids,
                                                                std::size_t max_log_bytes = 1 << 20);

} // namespace aetherium::api
