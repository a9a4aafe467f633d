#include "events/append_planner.hpp"

#include <unordered_set>

#include "events/canonical_json.hpp"
#include "events/hash_chain.hpp"

namespace aetherium {

namespace {

result<void> check_name(const std::string& value, const char* field) {
  if (value.empty())
    return make_error(errc::invalid_argument, std::string{field} + " must not be empty", field);
  if (value.size() > max_name_bytes)
    return make_error(errc::invalid_argument,
                      std::string{field} + " is longer than 256 bytes", field);
  return {};
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

} // namespace

result<append_request> normalize(append_request request) {
  if (auto ok = check_name(request.stream.str(), "stream_id"); !ok)
    return ok.err();
  if (request.events.empty())
    return make_error(errc::invalid_argument, "an append needs at least one event", "events");
  if (request.expected.value < expected_version::any_value)
    return make_error(errc::invalid_argument, "expected version must be >= -1", "expected_version");
  std::unordered_set<std::string> ids;
  for (auto& e : request.events) {
    if (auto ok = check_name(e.type, "type"); !ok)
      return ok.err();
    if (!is_uuid(e.id.str()))
      return make_error(errc::invalid_argument, "event id must be a lowercase UUID", "event_id");
    if (!ids.insert(e.id.str()).second)
      return make_error(errc::invalid_argument, "event id repeated in one append", "event_id");
    if (e.schema_version < 1)
      return make_error(errc::invalid_argument, "schema_version must be >= 1", "schema_version");
    auto payload = canonical_json_object(e.payload);
    if (!payload)
      return make_error(errc::invalid_argument, "payload: " + payload.err().detail, "payload");
    e.payload = std::move(*payload);
  }
  return request;
}

result<append_plan> plan_append(const append_request& request, std::int64_t current_version,
                                const std::vector<std::optional<stored_event_ref>>& existing) {
  std::size_t found = 0;
  for (auto& ref : existing)
    if (ref)
      ++found;
  if (found == request.events.size()) {
    // A retry of an append that already committed: accept it if it is the same append.
    for (std::size_t i = 0; i < existing.size(); ++i) {
      if (existing[i]->stream != request.stream
          || existing[i]->stream_version != existing[0]->stream_version + static_cast<std::int64_t>(i))
        return make_error(errc::conflict, "event id " + request.events[i].id.str()
                                            + " is already stored elsewhere");
    }
    append_plan plan;
    plan.duplicate = true;
    plan.existing = {existing.front()->position, existing.back()->position,
                     existing.back()->stream_version, true};
    return plan;
  }
  if (found > 0)
    return make_error(errc::conflict, "some event ids of this append are already stored");
  auto expected = request.expected.value;
  if (expected != expected_version::any_value && expected != current_version)
    return make_error(errc::conflict, "stream " + request.stream.str() + " is at version "
                                        + std::to_string(current_version) + ", expected "
                                        + std::to_string(expected));
  append_plan plan;
  plan.first_version = current_version + 1;
  return plan;
}

std::vector<recorded_event> seal(const append_request& request, const append_plan& plan,
                                 std::int64_t first_position, std::string prev_hash,
                                 std::int64_t recorded_at_us) {
  std::vector<recorded_event> out;
  out.reserve(request.events.size());
  auto version = plan.first_version;
  auto position = first_position;
  for (auto& e : request.events) {
    recorded_event r;
    r.id = e.id;
    r.stream = request.stream;
    r.stream_version = version++;
    r.type = e.type;
    r.schema_version = e.schema_version;
    r.payload = e.payload;
    r.metadata = e.metadata;
    r.recorded_at_us = recorded_at_us;
    r.position = position++;
    r.prev_hash = std::move(prev_hash);
    r.hash = chain_hash(r.prev_hash, r);
    prev_hash = r.hash;
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace aetherium
