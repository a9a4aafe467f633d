#pragma once

// Internal to adapters/json: what every event codec does around its own payloads, writing
// canonical JSON and reading through the upcasters.

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/json/upcasters.hpp"
#include "events/canonical_json.hpp"
#include "events/event.hpp"
#include "events/result.hpp"

namespace aetherium::json_fields {

/// The stored form of `payload`. With `replace`, strings that are not valid UTF-8 (text a
/// remote peer chose, such as a refused node's address) are stored with U+FFFD in place of
/// the bad bytes instead of throwing.
inline new_event stored(const std::string& type, int version, const nlohmann::json& payload, const std::string& id,
                        const event_metadata& md,
                        nlohmann::json::error_handler_t on_bad_utf8 = nlohmann::json::error_handler_t::strict) {
  auto text = payload.dump(-1, ' ', false, on_bad_utf8);
  auto canonical = canonical_json(text);
  return {event_id{id}, type, version, canonical ? *canonical : text, md};
}

/// Decodes `r` with `decode(type, payload)` after upcasting it to `current` (0: a type this
/// codec does not know). Errors: corrupt, naming the position, the type and the reason.
template <class Event, class Decode>
result<Event> decode_with(const recorded_event& r, int current, Decode&& decode) {
  auto where = "event at position " + std::to_string(r.position) + " (" + r.type + "): ";
  if (current == 0)
    return make_error(errc::corrupt, where + "unknown event type " + r.type);
  try {
    auto payload = upcast(r.type, r.schema_version, current, nlohmann::json::parse(r.payload));
    if (!payload)
      return make_error(errc::corrupt, where + payload.err().detail);
    auto e = decode(r.type, *payload);
    if (!e)
      return make_error(errc::corrupt, where + e.err().detail);
    return e;
  } catch (const std::exception& ex) {
    return make_error(errc::corrupt, where + "malformed payload: " + ex.what());
  }
}

} // namespace aetherium::json_fields
