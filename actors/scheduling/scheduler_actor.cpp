#include "actors/scheduling/scheduler_actor.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/scheduling/node_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"

namespace aetherium::actors {

namespace {

using scheduling::node_status;

struct scheduler_state {
  std::optional<scheduling::scheduler_core> core;
  scheduler_options options;
  std::unordered_map<node_id, caf::actor> nodes;
  std::unordered_map<caf::actor_addr, node_id> node_ids;
  std::vector<caf::actor_addr> subscribers;
  std::unordered_map<node_id, std::int64_t> last_beat_us; ///< Registration or heartbeat, by node.
};

using scheduler_self = caf::stateful_actor<scheduler_state>;

/// Marks a node down in the core, moves its sandboxes and tells every live subscriber.
void node_went_down(scheduler_self* self, const node_id& id, std::string reason) {
  auto& st = self->state;
  auto status = st.core->status_of(id);
  if (!status || *status == node_status::down)
    return;
  node_down_report report{id, std::move(reason), st.core->mark_down(id)};
  std::vector<caf::actor_addr> live;
  for (auto& addr : st.subscribers)
    if (auto sub = caf::actor_cast<caf::actor>(addr)) {
      self->send(sub, rescheduled_atom::value, report);
      live.push_back(addr);
    }
  st.subscribers = std::move(live);
}

/// A node actor's new state, applied to the core.
void on_node_state(scheduler_self* self, const scheduling::node_state& node) {
  switch (node.status) {
    case node_status::up: self->state.core->add_node(node.node); break;
    case node_status::drained: self->state.core->drain(node.node.id); break;
    case node_status::down: // a removed node takes nothing either
    case node_status::removed: node_went_down(self, node.node.id, node.down_reason); break;
  }
}

caf::actor node_actor_for(scheduler_self* self, const node_id& id) {
  auto& st = self->state;
  if (auto it = st.nodes.find(id); it != st.nodes.end())
    return it->second;
  auto a = spawn_node_actor(self->system(), id, self->address(),
                            node_actor_options{st.options.heartbeat_timeout, st.options.clock});
  self->monitor(a);
  st.nodes.emplace(id, a);
  st.node_ids.emplace(a.address(), id);
  return a;
}

/// Hands a node command to the node's actor, which answers the original sender.
template <class... Ts>
caf::result<node_outcome> to_node(scheduler_self* self, const std::string& id, Ts&&... xs) {
  auto it = self->state.nodes.find(node_id{id});
  if (it == self->state.nodes.end())
    return node_outcome{make_error(errc::not_found, "node " + id + " is not registered")};
  auto promise = self->make_response_promise();
  promise.delegate(it->second, std::forward<Ts>(xs)...);
  return promise;
}

caf::result<node_outcome> register_node(scheduler_self* self, scheduling::node_registration& reg) {
  if (auto ok = scheduling::validate_registration(reg); !ok)
    return node_outcome{ok.err()};
  node_actor_for(self, reg.id);
  self->state.last_beat_us[reg.id] = self->state.options.clock->now_us();
  return to_node(self, reg.id.str(), register_atom::value, std::move(reg));
}

quota_outcome set_quotas(scheduler_self* self, const std::string& tenant, const scheduling::placement_quotas& q) {
  if (tenant.empty())
    return make_error(errc::invalid_argument, "tenant must not be empty", "tenant");
  if (auto ok = scheduling::validate_quotas(q); !ok)
    return ok.err();
  self->state.core->set_quotas(tenant_id{tenant}, q);
  return q;
}

void on_node_actor_down(scheduler_self* self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto it = st.node_ids.find(msg.source);
  if (it == st.node_ids.end())
    return;
  node_id id = it->second;
  st.nodes.erase(id);
  st.node_ids.erase(it);
  node_went_down(self, id, "node actor stopped: " + caf::to_string(msg.reason));
}

caf::behavior scheduler_actor(scheduler_self* self, scheduler_options options) {
  if (!options.clock)
    options.clock = make_system_clock();
  self->state.core.emplace(options.strategy, options.default_quotas);
  self->state.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& msg) { on_node_actor_down(self, msg); });
  // Stopping the scheduler stops its node actors, whose heartbeat timers would otherwise
  // keep the actor system (and so a stopping server) alive.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, a] : self->state.nodes)
      self->send_exit(a, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](place_atom, const scheduling::placement_request& r) -> placement_outcome {
      return self->state.core->place(r);
    },
    [self](release_atom, const std::string& task) -> release_outcome {
      return self->state.core->release(task_id{task});
    },
    [self](register_atom, scheduling::node_registration& reg) { return register_node(self, reg); },
    [self](heartbeat_atom atom, const std::string& node) {
      self->state.last_beat_us[node_id{node}] = self->state.options.clock->now_us();
      return to_node(self, node, atom);
    },
    [self](undrain_atom atom, const std::string& node) { return to_node(self, node, atom); },
    [self](down_atom atom, const std::string& node, std::string& reason) {
      return to_node(self, node, atom, std::move(reason));
    },
    [self](drain_atom atom, const std::string& node) { return to_node(self, node, atom); },
    [self](get_atom atom, const std::string& node) { return to_node(self, node, atom); },
    [self](get_atom) {
      auto s = self->state.core->summary();
      for (auto& n : s.nodes)
        if (auto it = self->state.last_beat_us.find(n.id); it != self->state.last_beat_us.end())
          n.last_heartbeat_us = it->second;
      return s;
    },
    [self](quota_atom, const std::string& tenant, const scheduling::placement_quotas& q) {
      return set_quotas(self, tenant, q);
    },
    [self](subscribe_atom) {
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto& subs = self->state.subscribers;
      if (sender && std::find(subs.begin(), subs.end(), sender) == subs.end())
        subs.push_back(sender);
    },
    [self](actor_atom, const std::string& node) {
      auto it = self->state.nodes.find(node_id{node});
      return it == self->state.nodes.end() ? caf::actor{} : it->second;
    },
    [self](node_atom, const scheduling::node_state& node) { on_node_state(self, node); },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& sys, scheduler_options options) {
  return sys.spawn(scheduler_actor, std::move(options));
}

} // namespace aetherium::actors
