#include "actors/scheduling/heartbeat.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/scheduling/scheduling_messages.hpp"

namespace aetherium::actors {

namespace {

caf::behavior heartbeat(caf::event_based_actor* self, caf::actor scheduler, node_id node,
                        std::chrono::milliseconds every) {
  self->delayed_send(self, every, tick_atom::value);
  return {[self, scheduler, node, every](tick_atom) {
    caf::anon_send(scheduler, heartbeat_atom::value, node.str());
    self->delayed_send(self, every, tick_atom::value);
  }};
}

} // namespace

caf::actor spawn_heartbeat(caf::actor_system& sys, caf::actor scheduler, node_id node,
                           std::chrono::milliseconds every) {
  return sys.spawn(heartbeat, std::move(scheduler), std::move(node), every);
}

} // namespace aetherium::actors
