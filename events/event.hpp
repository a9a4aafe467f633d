#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/ids.hpp"

namespace aetherium {

/// Who caused an event and why: carried with every event, never interpreted by the store.
struct event_metadata {
  std::string tenant;
  std::string principal;
  std::string correlation_id;
  std::string causation_id;
  std::string trace_id;
};

/// An event as a writer hands it to the store: the store adds version, position and hashes.
struct new_event {
  event_id id;              ///< Chosen by the writer (a UUID); re-appending it is idempotent.
  std::string type;         ///< Wire name, e.g. "task.requested"; never a C++ class name.
  int schema_version = 1;   ///< Version of the payload schema for this type.
  std::string payload;      ///< A JSON object; the store keeps its canonical form.
  event_metadata metadata;
};

/// An event as stored: immutable once committed.
struct recorded_event {
  event_id id;
  stream_id stream;
  std::int64_t stream_version = 0; ///< 1 for the first event of a stream.
  std::string type;
  int schema_version = 1;
  std::string payload;              ///< Canonical JSON (see canonical_json.hpp).
  event_metadata metadata;
  std::int64_t recorded_at_us = 0;  ///< Microseconds since the Unix epoch, UTC.
  std::int64_t position = 0;        ///< Global, gap-free, 1 for the first event of the log.
  std::string prev_hash;            ///< Hex SHA-256 of the previous event ("" for the first).
  std::string hash;                 ///< Hex SHA-256 over prev_hash and the canonical event.
};

/// The longest stream id or type name the store accepts, in bytes.
inline constexpr std::size_t max_name_bytes = 256;

/// The stream category is the part of a stream id before the first '-' ("task" of "task-42").
std::string stream_category(const stream_id& stream);

} // namespace aetherium
