#pragma once

#include <memory>
#include <string>

#include "events/domain/project.hpp"
#include "events/domain/task.hpp"
#include "events/event.hpp"
#include "events/scheduling/node.hpp"
#include "events/scheduling/node_token.hpp"
#include "events/scheduling/tenant.hpp"

namespace aetherium::domain {

/// Turns the events of one aggregate into stored events and back. Decoding applies the
/// upcasters, so callers only ever see the current schema of each type.
template <class Event>
class event_codec {
public:
  virtual ~event_codec() = default;
  /// The stored form of `e` (type name, current schema version, JSON payload).
  virtual new_event encode(const Event& e, const std::string& event_id, const event_metadata& md) const = 0;
  /// Errors: corrupt, naming the position and the reason (unknown type, a schema version
  /// newer than this code knows, a payload that does not fit the type).
  virtual result<Event> decode(const recorded_event& stored) const = 0;
};

using task_codec = event_codec<task_event>;
using project_codec = event_codec<project_event>;
using tenant_codec = event_codec<scheduling::tenant_event>;
using node_codec = event_codec<scheduling::node_event>;
using node_token_codec = event_codec<scheduling::node_token_event>;

} // namespace aetherium::domain
