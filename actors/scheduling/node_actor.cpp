#include "actors/scheduling/node_actor.hpp"

#include <caf/all.hpp>

#include "actors/scheduling/scheduling_messages.hpp"

namespace aetherium::actors {

namespace {

using scheduling::node;
using scheduling::node_status;

struct node_actor_state {
  node_id id;
  caf::actor_addr owner;
  node_actor_options options;
  node::state model;
  caf::actor_clock::time_point last_beat;
  bool timer_armed = false;
};

using node_self = caf::stateful_actor<node_actor_state>;

void arm_timer(node_self* self, std::chrono::milliseconds after) {
  self->delayed_send(self, after, tick_atom::value);
  self->state.timer_armed = true;
}

/// Decides `cmd`, applies its events and tells the owner when the status or the capacity
/// changed. Heartbeats restart the silence clock.
node_outcome apply(node_self* self, const node::command& cmd) {
  auto& st = self->state;
  auto decided = node::decide(st.model, cmd);
  if (!decided)
    return decided.err();
  bool changed = false;
  for (auto& e : *decided) {
    st.model = node::evolve(std::move(st.model), e);
    bool beat = std::holds_alternative<scheduling::node_heartbeat_received>(e);
    if (beat || std::holds_alternative<scheduling::node_registered>(e))
      st.last_beat = self->clock().now();
    changed = changed || !beat;
  }
  if (changed) {
    if (auto owner = caf::actor_cast<caf::actor>(st.owner))
      self->send(owner, node_atom::value, st.model);
  }
  if (scheduling::live(st.model.status) && !st.timer_armed)
    arm_timer(self, st.options.heartbeat_timeout);
  return st.model;
}

/// The single silence timer: marks the node down once no beat came for the timeout,
/// otherwise waits for the rest of it.
void on_tick(node_self* self) {
  auto& st = self->state;
  st.timer_armed = false;
  if (!st.model.exists || !scheduling::live(st.model.status))
    return;
  auto silent = self->clock().now() - st.last_beat;
  if (silent >= st.options.heartbeat_timeout) {
    (void)apply(self, scheduling::mark_node_down{"heartbeat_timeout", st.options.clock->now_us()});
    return;
  }
  arm_timer(self, std::chrono::duration_cast<std::chrono::milliseconds>(st.options.heartbeat_timeout - silent)
                    + std::chrono::milliseconds(1));
}

caf::behavior node_actor(node_self* self, node_id id, caf::actor_addr owner, node_actor_options options) {
  if (!options.clock)
    options.clock = make_system_clock();
  self->state.id = std::move(id);
  self->state.owner = std::move(owner);
  self->state.options = std::move(options);
  auto now = [self] { return self->state.options.clock->now_us(); };
  return {
    [self, now](register_atom, scheduling::node_registration& reg) -> node_outcome {
      if (reg.id != self->state.id)
        return make_error(errc::invalid_argument, "registration for " + reg.id.str() + " sent to node "
                                                    + self->state.id.str(), "id");
      return apply(self, scheduling::register_node{std::move(reg), now()});
    },
    [self, now](heartbeat_atom) { return apply(self, scheduling::record_heartbeat{now()}); },
    [self, now](down_atom, std::string& reason) {
      return apply(self, scheduling::mark_node_down{std::move(reason), now()});
    },
    [self, now](drain_atom) { return apply(self, scheduling::drain_node{now()}); },
    [self, now](undrain_atom) { return apply(self, scheduling::undrain_node{now()}); },
    [self](get_atom) -> node_outcome {
      if (!self->state.model.exists)
        return make_error(errc::not_found, "node " + self->state.id.str() + " is not registered");
      return self->state.model;
    },
    [self](tick_atom) { on_tick(self); },
  };
}

} // namespace

caf::actor spawn_node_actor(caf::actor_system& sys, node_id id, const caf::actor_addr& owner,
                            node_actor_options options) {
  return sys.spawn(node_actor, std::move(id), owner, std::move(options));
}

} // namespace aetherium::actors
