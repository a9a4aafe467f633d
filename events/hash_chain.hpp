#pragma once

#include <string>

#include "events/event.hpp"

namespace aetherium {

/// The canonical encoding of a stored event that its hash covers: a JSON object with
/// sorted keys holding every field except position, prev_hash and hash. The payload
/// must already be canonical (canonical_json).
std::string canonical_event_encoding(const recorded_event& event);

/// hash = SHA-256(prev_hash || canonical_event_encoding(event)), as lowercase hex.
std::string chain_hash(const std::string& prev_hash, const recorded_event& event);

/// Canonical JSON object of the metadata (also the form stored in the database).
std::string metadata_json(const event_metadata& metadata);

} // namespace aetherium
