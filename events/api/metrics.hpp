#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aetherium::api {

/// A monotonically increasing number (requests served, events appended). Thread-safe.
class counter_metric {
public:
  virtual ~counter_metric() = default;
  /// Adds `delta` (>= 0; negative deltas are ignored).
  virtual void inc(double delta = 1) = 0;
};

/// A number that goes up and down (tasks by state, live sandboxes). Thread-safe.
class gauge_metric {
public:
  virtual ~gauge_metric() = default;
  virtual void set(double value) = 0;
  virtual void add(double delta) = 0;
};

/// A distribution of observations (latencies, in seconds). Thread-safe.
class histogram_metric {
public:
  virtual ~histogram_metric() = default;
  virtual void observe(double value) = 0;
};

/// Label names and values of one series, e.g. {{"route", "/v1/tasks"}, {"method", "GET"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// Where every component registers its metrics; the HTTP layer exposes them at /metrics.
///
/// Asking twice for the same name and labels returns the same series. Names follow
/// Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*); one name has one kind and one help text
/// (the first registration's). Handles stay valid as long as the registry. Thread-safe.
class metrics_registry {
public:
  virtual ~metrics_registry() = default;
  virtual std::shared_ptr<counter_metric> get_counter(const std::string& name, const std::string& help,
                                                      const metric_labels& labels = {}) = 0;
  virtual std::shared_ptr<gauge_metric> get_gauge(const std::string& name, const std::string& help,
                                                  const metric_labels& labels = {}) = 0;
  /// `bounds` are the upper bounds of the buckets, ascending; empty = latency defaults
  /// (0.5 ms to 10 s).
  virtual std::shared_ptr<histogram_metric> get_histogram(const std::string& name, const std::string& help,
                                                          const metric_labels& labels = {},
                                                          std::vector<double> bounds = {}) = 0;
  /// Every series in the Prometheus text exposition format 0.0.4.
  virtual std::string render() = 0;
};

/// Names of the series the core reports; /metrics always shows them.
namespace metric_names {
inline constexpr const char* tasks = "aetherium_tasks";                          ///< gauge, label state
inline constexpr const char* sandboxes_live = "aetherium_sandboxes_live";        ///< gauge
inline constexpr const char* append_seconds = "aetherium_event_append_seconds";  ///< histogram
inline constexpr const char* append_failures = "aetherium_event_append_failures_total"; ///< counter, label error
inline constexpr const char* relay_lag = "aetherium_relay_lag_events";           ///< gauge
inline constexpr const char* relay_lag_seconds = "aetherium_relay_lag_seconds";  ///< gauge
inline constexpr const char* http_requests = "aetherium_http_requests_total";    ///< counter
inline constexpr const char* http_seconds = "aetherium_http_request_duration_seconds"; ///< histogram
/// gauge: the log position the read model started from (its checkpoint; 0 = rebuilt from the start)
inline constexpr const char* read_model_start_position = "aetherium_read_model_start_position";
/// gauge: the log position of the read model's last saved checkpoint
inline constexpr const char* read_model_checkpoint_position = "aetherium_read_model_checkpoint_position";
} // namespace metric_names

/// Handles of the core's series, for the components that update them.
struct core_metrics {
  std::map<std::string, std::shared_ptr<gauge_metric>> tasks_by_state; ///< Every task status, at 0.
  std::shared_ptr<gauge_metric> sandboxes_live;
  std::shared_ptr<histogram_metric> append_seconds;
  std::shared_ptr<counter_metric> append_unavailable; ///< Appends the store could not take (it was down).
  std::shared_ptr<gauge_metric> relay_lag_events;
  std::shared_ptr<gauge_metric> relay_lag_seconds;
};

/// Registers the core's series in `registry` (idempotent) and returns their handles.
core_metrics register_core_metrics(metrics_registry& registry);

} // namespace aetherium::api
