#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/event_store.hpp"

namespace aetherium {

/// Where an already stored event id lives.
struct stored_event_ref {
  stream_id stream;
  std::int64_t stream_version = 0;
  std::int64_t position = 0;
};

/// What an append will do, decided before writing.
struct append_plan {
  bool duplicate = false;       ///< All ids are stored already, in place: write nothing.
  append_result existing;       ///< Where they are, when duplicate.
  std::int64_t first_version = 0; ///< Version of the first new event otherwise.
};

/// Checks `request` against the stream's current version and where its event ids are
/// already stored (`existing[i]` for `request.events[i]`). Shared by every store so that
/// all of them decide conflicts and duplicates the same way.
/// Errors: conflict (version mismatch, or ids stored elsewhere or only partly).
result<append_plan> plan_append(const append_request& request, std::int64_t current_version,
                                const std::vector<std::optional<stored_event_ref>>& existing);

/// Validates `request` (see event_store::append_async) and returns it with each payload in
/// canonical JSON form. Errors: invalid_argument, naming the field.
result<append_request> normalize(append_request request);

/// Turns a planned request into stored events starting at `first_position`, chaining
/// hashes from `prev_hash`. The request must come from normalize().
std::vector<recorded_event> seal(const append_request& request, const append_plan& plan,
                                 std::int64_t first_position, std::string prev_hash,
                                 std::int64_t recorded_at_us);

} // namespace aetherium
