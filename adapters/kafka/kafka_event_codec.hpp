#pragma once

#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"

// Internal to adapters/kafka: reading back what to_event_message wrote.
namespace aetherium::kafka {

/// Decodes a message value written by event_envelope_json. The payload keeps its text
/// exactly (numbers as written). When the envelope carries a hash, it must match
/// chain_hash(prev_hash, event). Errors: corrupt (not an envelope, a missing or mistyped
/// field, a hash mismatch; the detail says which).
result<recorded_event> decode_event_envelope(std::string_view value);

} // namespace aetherium::kafka
