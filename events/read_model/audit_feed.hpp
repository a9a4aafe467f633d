#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "events/api/api_types.hpp"
#include "events/event_store.hpp"
#include "events/result.hpp"

namespace aetherium::read_model {

/// The audit feed and task histories, read from the log itself in pages: nothing of them is
/// kept in memory, so the read model does not grow with the log. Every function blocks on
/// the store: call them off the actors' scheduler.

/// Rows read from the store per round trip while looking for a tenant's events.
inline constexpr std::size_t audit_read_page = 1000;
/// At most this many rows are read for one page of the feed: a page that found fewer than
/// `limit` events of its tenant by then ends there, and its next_after lets the caller go on.
inline constexpr std::size_t audit_scan_budget = 20 * audit_read_page;

/// True for the streams of the audit feed (tasks and projects; keys, nodes and other
/// streams are not part of a tenant's audit trail).
bool in_audit_feed(const stream_id& stream);

/// The API's view of a stored event.
api::event_view to_event_view(const recorded_event& e);

/// Events of `tenant` after position `after`: of the next `limit` audit events of the log
/// (every tenant's, see in_audit_feed), those of `tenant`, in position order; next_after is
/// the position of the last one looked at (`after` when there was none). Errors:
/// invalid_argument (negative after, limit not 1 to 1000), unavailable or corrupt from the store.
result<api::event_page> events_after(event_store& store, const tenant_id& tenant, std::int64_t after,
                                     std::size_t limit);

/// Every event of `stream`, in version order. Errors: unavailable or corrupt from the store.
result<std::vector<api::event_view>> stream_events(event_store& store, const stream_id& stream);

} // namespace aetherium::read_model
