#pragma once

// Internal to adapters/json: the JSON form of a task's parts (and a tenant's quotas), shared by the event codecs and
// the board's checkpoint codec. Readers throw nlohmann::json exceptions on a missing or
// mistyped field; callers catch them at their edge.

#include <nlohmann/json.hpp>

#include "events/domain/task_types.hpp"
#include "events/scheduling/tenant.hpp"

namespace aetherium::json_fields {

nlohmann::json spec_json(const domain::task_spec& s);
domain::task_spec spec_of(const nlohmann::json& j);
nlohmann::json output_json(const domain::task_output& o);
domain::task_output output_of(const nlohmann::json& j);
nlohmann::json pr_json(const domain::task_pull_request& p);
domain::task_pull_request pr_of(const nlohmann::json& j);
/// A tenant's quotas: each one a number or null (unset).
nlohmann::json quotas_json(const scheduling::tenant_quotas& q);
scheduling::tenant_quotas quotas_of(const nlohmann::json& j);

} // namespace aetherium::json_fields
