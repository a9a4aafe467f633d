#include "adapters/kafka/kafka_event_codec.hpp"

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "events/canonical_json.hpp"
#include "events/hash_chain.hpp"

namespace aetherium::kafka {

namespace {

using json = nlohmann::json;

// Index just past the JSON string starting at `i` (at its opening quote).
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at `i`; nested strings may hold brackets.
std::size_t skip_value(std::string_view s, std::size_t i) {
  int depth = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i);
      if (i == std::string_view::npos)
        return i;
      --i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return i;
      if (--depth == 0)
        return i + 1;
    } else if (depth == 0 && c == ',') {
      return i;
    }
  }
  return i;
}

// The raw text of the top-level member `name` of a JSON object that already parsed.
std::optional<std::string_view> raw_member(std::string_view s, std::string_view name) {
  std::size_t i = s.find('{');
  while (i != std::string_view::npos && i < s.size()) {
    std::size_t key_begin = s.find('"', i);
    if (key_begin == std::string_view::npos)
      return std::nullopt;
    std::size_t key_end = skip_string(s, key_begin);
    std::size_t colon = s.find(':', key_end);
    if (key_end == std::string_view::npos || colon == std::string_view::npos)
      return std::nullopt;
    std::size_t value_begin = s.find_first_not_of(" \t\r\n", colon + 1);
    std::size_t value_end = skip_value(s, value_begin);
    if (value_end == std::string_view::npos)
      return std::nullopt;
    if (s.substr(key_begin + 1, key_end - key_begin - 2) == name)
      return s.substr(value_begin, value_end - value_begin);
    i = value_end + 1; // past the ','
  }
  return std::nullopt;
}

// Copies the envelope's fields except the payload into `e`.
result<void> read_fields(const json& j, recorded_event& e) {
  static const char* required[] = {"event_id", "stream_id", "stream_version", "type",
                                   "schema_version", "position", "recorded_at_us", "metadata"};
  for (const char* name : required)
    if (!j.contains(name))
      return make_error(errc::corrupt, std::string{"event envelope lacks "} + name, name);
  try {
    e.id = event_id{j.at("event_id").get<std::string>()};
    e.stream = stream_id{j.at("stream_id").get<std::string>()};
    e.stream_version = j.at("stream_version").get<std::int64_t>();
    e.type = j.at("type").get<std::string>();
    e.schema_version = j.at("schema_version").get<int>();
    e.position = j.at("position").get<std::int64_t>();
    e.recorded_at_us = j.at("recorded_at_us").get<std::int64_t>();
    e.prev_hash = j.value("prev_hash", "");
    e.hash = j.value("hash", "");
    const json& meta = j.at("metadata");
    if (!meta.is_object())
      return make_error(errc::corrupt, "event envelope metadata is not an object", "metadata");
    e.metadata.tenant = meta.value("tenant", "");
    e.metadata.principal = meta.value("principal", "");
    e.metadata.correlation_id = meta.value("correlation_id", "");
    e.metadata.causation_id = meta.value("causation_id", "");
    e.metadata.trace_id = meta.value("trace_id", "");
  } catch (const json::exception& ex) {
    return make_error(errc::corrupt, std::string{"event envelope: "} + ex.what());
  }
  if (e.id.empty() || e.stream.empty())
    return make_error(errc::corrupt, "event envelope has an empty event_id or stream_id");
  return {};
}

} // namespace

result<recorded_event> decode_event_envelope(std::string_view value) {
  json j = json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return make_error(errc::corrupt, "message value is not a JSON object");
  recorded_event e;
  if (auto fields = read_fields(j, e); !fields)
    return fields.err();
  auto raw_payload = raw_member(value, "payload");
  if (!raw_payload)
    return make_error(errc::corrupt, "event envelope lacks payload", "payload");
  auto payload = canonical_json_object(*raw_payload);
  if (!payload)
    return make_error(errc::corrupt, "event envelope payload: " + payload.err().detail, "payload");
  e.payload = std::move(*payload);
  if (!e.hash.empty() && chain_hash(e.prev_hash, e) != e.hash)
    return make_error(errc::corrupt, "event " + e.id.str() + " at position " +
                                         std::to_string(e.position) + " fails its hash check");
  return e;
}

} // namespace aetherium::kafka
