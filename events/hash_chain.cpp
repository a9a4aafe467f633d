#include "events/hash_chain.hpp"

#include "events/canonical_json.hpp"
#include "events/sha256.hpp"

namespace aetherium {

std::string metadata_json(const event_metadata& m) {
  std::string out = "{";
  auto field = [&out](const char* key, const std::string& value, bool last) {
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
    if (!last)
      out += ',';
  };
  // Keys in bytewise order so the text is canonical.
  field("causation_id", m.causation_id, false);
  field("correlation_id", m.correlation_id, false);
  field("principal", m.principal, false);
  field("tenant", m.tenant, false);
  field("trace_id", m.trace_id, true);
  out += '}';
  return out;
}

std::string canonical_event_encoding(const recorded_event& e) {
  std::string out = "{\"event_id\":";
  append_json_string(out, e.id.str());
  out += ",\"metadata\":";
  out += metadata_json(e.metadata);
  out += ",\"payload\":";
  out += e.payload;
  out += ",\"recorded_at_us\":";
  out += std::to_string(e.recorded_at_us);
  out += ",\"schema_version\":";
  out += std::to_string(e.schema_version);
  out += ",\"stream_id\":";
  append_json_string(out, e.stream.str());
  out += ",\"stream_version\":";
  out += std::to_string(e.stream_version);
  out += ",\"type\":";
  append_json_string(out, e.type);
  out += '}';
  return out;
}

std::string chain_hash(const std::string& prev_hash, const recorded_event& event) {
  return sha256_hex(prev_hash + canonical_event_encoding(event));
}

} // namespace aetherium
