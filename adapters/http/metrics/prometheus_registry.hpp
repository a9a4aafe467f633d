#pragma once

#include <memory>

#include "events/api/metrics.hpp"

namespace aetherium::http {

/// A metrics registry rendering the Prometheus text exposition format 0.0.4. Updates are
/// lock-free atomics; registration and rendering take a lock. A name asked for with a
/// second kind yields a series that is kept but never rendered.
std::shared_ptr<api::metrics_registry> make_prometheus_registry();

} // namespace aetherium::http
