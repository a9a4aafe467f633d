#pragma once

// Internal to adapters/json.

#include <string>

#include <nlohmann/json.hpp>

#include "events/result.hpp"

namespace aetherium {

/// The schema version new events of `type` are written with (1 for types never upcast).
int current_schema_version(const std::string& type);

/// Brings a payload of `type` written with `version` up to the current schema, one
/// version at a time. Old events are never rewritten in the log; they are read through
/// this. Errors: invalid_argument for a version newer than this code knows.
result<nlohmann::json> upcast(const std::string& type, int version, nlohmann::json payload);

} // namespace aetherium
