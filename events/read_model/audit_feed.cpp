#include "events/read_model/audit_feed.hpp"

#include "events/api/validation.hpp"

namespace aetherium::read_model {

bool in_audit_feed(const stream_id& stream) {
  auto& s = stream.str();
  return s.rfind("task-", 0) == 0 || s.rfind("project-", 0) == 0;
}

api::event_view to_event_view(const recorded_event& e) {
  return api::event_view{e.position, e.stream.str(), e.stream_version, e.type, e.schema_version, e.payload,
                         e.recorded_at_us};
}

result<api::event_page> events_after(event_store& store, const tenant_id& tenant, std::int64_t after,
                                     std::size_t limit) {
  if (after < 0)
    return make_error(errc::invalid_argument, "after must not be negative", "after");
  if (limit == 0 || limit > api::limits::events_page_size)
    return make_error(errc::invalid_argument, "limit must be 1 to 1000", "limit");
  api::event_page page;
  page.next_after = after;
  std::size_t looked_at = 0; // audit events of any tenant, as the page size counts them
  for (std::size_t scanned = 0; looked_at < limit && scanned < audit_scan_budget;) {
    auto rows = store.read_all(page.next_after, audit_read_page);
    if (!rows)
      return rows.err();
    if (rows->empty())
      break;
    for (auto& e : *rows) {
      ++scanned;
      page.next_after = e.position;
      if (!in_audit_feed(e.stream))
        continue;
      if (e.metadata.tenant == tenant.str())
        page.events.push_back(to_event_view(e));
      if (++looked_at == limit)
        break;
    }
  }
  return page;
}

result<std::vector<api::event_view>> stream_events(event_store& store, const stream_id& stream) {
  auto rows = store.read_stream(stream);
  if (!rows)
    return rows.err();
  std::vector<api::event_view> out;
  out.reserve(rows->size());
  for (auto& e : *rows)
    out.push_back(to_event_view(e));
  return out;
}

} // namespace aetherium::read_model
