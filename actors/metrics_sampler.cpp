#include "actors/metrics_sampler.hpp"

#include <algorithm>
#include <map>
#include <string>

#include <caf/all.hpp>

#include "actors/control_plane.hpp"
#include "actors/messages.hpp"
#include "actors/relay.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::relay_lag)

namespace aetherium::actors {

namespace {

caf::behavior metrics_sampler(caf::event_based_actor* self, sampled_parts p, caf::actor relay,
                              std::chrono::milliseconds every) {
  self->send(self, tick_atom::value);
  return {[self, p, relay, every](tick_atom) {
    p.control->count_tasks_by_status([m = p.metrics](std::map<std::string, std::size_t> counts) {
      for (auto& [state, gauge] : m.tasks_by_state)
        gauge->set(static_cast<double>(counts.count(state) ? counts[state] : 0));
    });
    if (auto live = p.sandboxes->live_count())
      p.metrics.sandboxes_live->set(static_cast<double>(*live));
    if (relay) {
      auto head = p.store->head_position();
      self->request(relay, std::chrono::seconds(1), get_atom::value)
        .then([m = p.metrics, head](const relay_lag& lag) {
          auto last = head ? std::max(*head, lag.head) : lag.head;
          m.relay_lag_events->set(static_cast<double>(last - lag.checkpoint));
          m.relay_lag_seconds->set(lag.oldest_pending_seconds);
        },
        [](caf::error&) {});
    }
    for (auto& probe : p.probes)
      probe();
    self->delayed_send(self, every, tick_atom::value);
  }};
}

} // namespace

caf::actor spawn_metrics_sampler(caf::actor_system& sys, sampled_parts parts, caf::actor relay,
                                 std::chrono::milliseconds every) {
  return sys.spawn<caf::detached>(metrics_sampler, std::move(parts), std::move(relay), every);
}

} // namespace aetherium::actors
