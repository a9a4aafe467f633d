#pragma once

#include <memory>

#include "events/api/metrics.hpp"
#include "events/event_store.hpp"

namespace aetherium::api {

/// `store`, with the time from each append call to its durable completion observed in
/// `seconds` (the aetherium_event_append_seconds histogram) and each append that found the
/// store unavailable counted in `unavailable`. Everything else is forwarded.
std::shared_ptr<event_store> observe_appends(std::shared_ptr<event_store> store,
                                             std::shared_ptr<histogram_metric> seconds,
                                             std::shared_ptr<counter_metric> unavailable);

} // namespace aetherium::api
