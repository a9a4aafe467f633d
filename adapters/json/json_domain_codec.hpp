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
/// Node events (node.registered schema 2; schema 1, without the credential hash, is
/// upcast). Text from a remote peer that is not valid UTF-8 is stored with U+FFFD in
/// place of the bad bytes. Defined in json_node_codec.cpp.
std::shared_ptr<const domain::node_codec> make_json_node_codec();
/// Join token events (schema 1). Defined in json_node_codec.cpp.
std::shared_ptr<const domain::node_token_codec> make_json_node_token_codec();

} // namespace aetherium
