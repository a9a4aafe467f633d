#pragma once

#include <memory>

#include "events/domain/codec.hpp"

namespace aetherium {

/// JSON codecs for the domain's events (nlohmann/json), with the upcasters of old schema
/// versions. Payloads are canonical JSON (events/canonical_json.hpp).
std::shared_ptr<const domain::task_codec> make_json_task_codec();
std::shared_ptr<const domain::project_codec> make_json_project_codec();
/// Tenant events (schema 2; schema 1 is upcast). An unset quota is stored as null.
std::shared_ptr<const domain::tenant_codec> make_json_tenant_codec();

} // namespace aetherium
