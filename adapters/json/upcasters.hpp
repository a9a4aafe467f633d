#pragma once

// Internal to adapters/json.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/result.hpp"

namespace aetherium {

/// Brings a payload of `type` written with `version` up to `current` (the event struct's
/// schema_version: the domain's headers are the one source of versions), one version at a
/// time. Old events are never rewritten in the log; they are read through this.
/// Errors: invalid_argument for a version outside 1..current, or a version this code has
/// no step from.
result<nlohmann::json> upcast(const std::string& type, int version, int current, nlohmann::json payload);

/// The (type, version) pairs a step upcasts from: each must lie below its type's current
/// version, and every version below that needs one (checked by the codec's tests).
std::vector<std::pair<std::string, int>> upcast_steps();

} // namespace aetherium
