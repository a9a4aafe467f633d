#include "events/log_verifier.hpp"

#include "events/hash_chain.hpp"

namespace aetherium {

namespace {

std::string check(const recorded_event& e, std::int64_t expected_position,
                  const std::string& prev_hash) {
  if (e.position != expected_position)
    return "position " + std::to_string(expected_position) + " is missing";
  if (e.prev_hash != prev_hash)
    return "prev_hash does not match the hash of the previous event";
  if (e.hash != chain_hash(e.prev_hash, e))
    return "hash does not match the event's content";
  return {};
}

} // namespace

result<log_verification> verify_log(event_store& store, std::size_t page_size) {
  log_verification out;
  std::string prev_hash;
  std::int64_t after = 0;
  for (;;) {
    auto page = store.read_all(after, page_size);
    if (!page)
      return page.err();
    for (auto& e : *page) {
      auto why = check(e, after + 1, prev_hash);
      if (!why.empty()) {
        out.intact = false;
        out.first_bad_position = after + 1;
        out.reason = std::move(why);
        out.head_position = e.position;
        return out;
      }
      prev_hash = e.hash;
      after = e.position;
      ++out.events_checked;
    }
    if (page->size() < page_size)
      break;
  }
  out.head_position = after;
  return out;
}

} // namespace aetherium
