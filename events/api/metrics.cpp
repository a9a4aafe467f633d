#include "events/api/metrics.hpp"

#include "events/api/api_types.hpp"

namespace aetherium::api {

core_metrics register_core_metrics(metrics_registry& registry) {
  core_metrics out;
  for (auto status : all_task_statuses) {
    std::string state = to_string(status);
    out.tasks_by_state[state] =
      registry.get_gauge(metric_names::tasks, "Tasks by lifecycle state.", {{"state", state}});
  }
  out.sandboxes_live = registry.get_gauge(metric_names::sandboxes_live, "Sandboxes provisioned and not yet destroyed.");
  out.append_seconds =
    registry.get_histogram(metric_names::append_seconds, "Event store append latency in seconds.");
  out.append_unavailable = registry.get_counter(metric_names::append_failures,
                                                "Appends the event store refused, by error.", {{"error", "unavailable"}});
  out.relay_lag_events =
    registry.get_gauge(metric_names::relay_lag, "Committed events not yet delivered to Kafka.");
  out.relay_lag_seconds =
    registry.get_gauge(metric_names::relay_lag_seconds, "Age of the oldest committed event not yet delivered to Kafka.");
  return out;
}

} // namespace aetherium::api
