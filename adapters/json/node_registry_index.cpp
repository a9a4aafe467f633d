#include "adapters/json/node_registry_index.hpp"

#include <algorithm>

namespace aetherium {

using namespace scheduling;

void node_registry_index::apply_node(const node_id& id, std::int64_t stream_version, const node_event& e) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& entry = nodes_[id.str()];
  if (stream_version <= entry.version)
    return;
  entry.version = stream_version;
  entry.record.id = id;
  entry.record.state = node::evolve(std::move(entry.record.state), e);
  entry.record.refusals = entry.record.state.refusals;
  entry.record.last_event_us = at_of(e);
}

void node_registry_index::put_node(const node_id& id, const node_state& s, std::int64_t stream_version,
                                   std::int64_t last_at_us) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& entry = nodes_[id.str()];
  if (stream_version <= entry.version)
    return;
  entry.version = stream_version;
  entry.record = node_record{s, last_at_us, s.refusals, id};
}

void node_registry_index::apply_token(const node_token_id& id, std::int64_t stream_version, std::int64_t position,
                                      const node_token_event& e) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& entry = tokens_[id.str()];
  if (stream_version <= entry.version)
    return;
  if (entry.version == 0)
    entry.issued_at_position = position;
  entry.version = stream_version;
  entry.state = node_token::evolve(std::move(entry.state), e);
}

void node_registry_index::put_token(const node_token_state& s, std::int64_t stream_version, std::int64_t position) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& entry = tokens_[s.id.str()];
  if (stream_version <= entry.version)
    return;
  if (entry.version == 0)
    entry.issued_at_position = position;
  entry.version = stream_version;
  entry.state = s;
}

std::vector<node_record> node_registry_index::nodes() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<node_record> out;
  out.reserve(nodes_.size());
  for (auto& [name, entry] : nodes_)
    out.push_back(entry.record);
  return out;
}

std::vector<node_token_state> node_registry_index::tokens() {
  std::vector<const token_entry*> order;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [id, entry] : tokens_)
    if (entry.state.exists)
      order.push_back(&entry);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->issued_at_position < b->issued_at_position; });
  std::vector<node_token_state> out;
  for (auto* entry : order)
    out.push_back(entry->state);
  return out;
}

} // namespace aetherium
