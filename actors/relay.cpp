#include "actors/relay.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "events/logger.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::recorded_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::result<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::relay_lag)

namespace aetherium::actors {

namespace {

using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;

struct relay_state {
  std::shared_ptr<event_store> store;
  std::shared_ptr<checkpoint_store> checkpoints;
  publisher_factory make_publisher;
  std::string name;
  std::shared_ptr<event_publisher> publisher;
  std::shared_ptr<std::shared_ptr<subscription>> feed = std::make_shared<std::shared_ptr<subscription>>();
  caf::actor saver;
  std::uint64_t generation = 0;            ///< Bumped on restart: late callbacks are ignored.
  std::int64_t checkpoint = 0;             ///< Every position <= this is on the bus.
  std::int64_t saved = 0;                  ///< Last checkpoint handed to the saver.
  std::int64_t head = 0;
  std::set<std::int64_t> delivered_ahead;  ///< Delivered, but a lower one is still pending.
  std::map<std::int64_t, std::int64_t> pending_since_us; ///< Position -> recorded_at.
};

using relay_actor_t = caf::stateful_actor<relay_state>;

/// (Re)starts publishing after the checkpoint with a fresh publisher.
void start_feed(relay_actor_t* self) {
  auto& st = self->state;
  if (*st.feed)
    (*st.feed)->stop();
  st.publisher = st.make_publisher();
  st.delivered_ahead.clear();
  st.pending_since_us.clear();
  auto generation = ++st.generation;
  caf::weak_actor_ptr me = self->ctrl();
  *st.feed = st.store->subscribe(st.checkpoint, [me, generation](const recorded_event& e) {
    if (auto strong = me.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), apply_atom::value, generation, e);
  });
}

void on_delivered(relay_actor_t* self, std::int64_t position, const result<void>& outcome) {
  auto& st = self->state;
  if (!outcome) {
    // Halted publisher: republish from the checkpoint with a new one.
    self->send(self, restart_atom::value);
    return;
  }
  st.pending_since_us.erase(position);
  st.delivered_ahead.insert(position);
  while (!st.delivered_ahead.empty() && *st.delivered_ahead.begin() == st.checkpoint + 1) {
    st.checkpoint = *st.delivered_ahead.begin();
    st.delivered_ahead.erase(st.delivered_ahead.begin());
  }
  if (st.checkpoint > st.saved) {
    st.saved = st.checkpoint;
    self->send(st.saver, st.saved);
  }
}

/// Saves checkpoints (it runs detached: save() blocks on the database). A save that fails
/// is tried again every 500 ms with the newest position until one succeeds: until then a
/// restarted relay would publish again what follows the last saved checkpoint.
caf::behavior checkpoint_saver(caf::event_based_actor* self, std::shared_ptr<checkpoint_store> cps, std::string name) {
  auto newest = std::make_shared<std::int64_t>(0);
  auto failing = std::make_shared<bool>(false);
  return {[self, cps, name, newest, failing](std::int64_t position) {
    *newest = std::max(*newest, position);
    auto saved = cps->save(name, *newest);
    if (saved) {
      *failing = false;
      return;
    }
    if (!*failing)
      log(log_level::warn, "relay checkpoint not saved, retrying",
          {{"relay", name}, {"position", std::to_string(*newest)}, {"error", saved.err().detail}});
    *failing = true;
    self->delayed_send(self, std::chrono::milliseconds(500), *newest);
  }};
}

caf::behavior relay_actor(relay_actor_t* self, std::shared_ptr<event_store> store,
                          std::shared_ptr<checkpoint_store> checkpoints, publisher_factory make_publisher,
                          std::string name, std::int64_t checkpoint) {
  auto& st = self->state;
  st.store = store;
  st.checkpoints = checkpoints;
  st.make_publisher = std::move(make_publisher);
  st.name = name;
  st.saver = self->spawn<caf::detached + caf::linked>(checkpoint_saver, checkpoints, name);
  st.checkpoint = st.saved = st.head = checkpoint;
  start_feed(self);
  // The functor holds the store too: the subscription must stop before the store can go,
  // and the actor's state (with its reference) is released before attached functors run.
  self->attach_functor([feed = st.feed, store] {
    if (*feed)
      (*feed)->stop();
  });
  return {
    [self](apply_atom, std::uint64_t generation, const recorded_event& e) {
      auto& st = self->state;
      if (generation != st.generation || e.position <= st.checkpoint)
        return;
      st.head = std::max(st.head, e.position);
      st.pending_since_us[e.position] = e.recorded_at_us;
      auto me = caf::actor_cast<caf::actor>(self);
      st.publisher->publish(e, [me, generation, pos = e.position](result<void> r) {
        caf::anon_send(me, delivered_atom::value, generation, pos, std::move(r));
      });
    },
    [self](delivered_atom, std::uint64_t generation, std::int64_t position, result<void>& r) {
      if (generation == self->state.generation)
        on_delivered(self, position, r);
    },
    [self](restart_atom) { start_feed(self); },
    [self](get_atom) {
      auto& st = self->state;
      relay_lag lag{st.checkpoint, st.head, 0};
      if (!st.pending_since_us.empty()) {
        auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
        lag.oldest_pending_seconds = (now - st.pending_since_us.begin()->second) / 1e6;
      }
      return lag;
    },
  };
}

} // namespace

caf::actor spawn_relay(caf::actor_system& sys, std::shared_ptr<event_store> store,
                       std::shared_ptr<checkpoint_store> checkpoints, publisher_factory make_publisher,
                       std::string name) {
  // Read once, here on the caller's thread, so the actor never blocks on the database.
  auto checkpoint = checkpoints->load(name);
  if (!checkpoint)
    return {};
  // Detached: publish() blocks while the producer's queue is full, and dropping a publisher
  // waits for its deliveries; neither may hold a thread of the shared scheduler.
  return sys.spawn<caf::detached>(relay_actor, std::move(store), std::move(checkpoints), std::move(make_publisher),
                   std::move(name), *checkpoint);
}

} // namespace aetherium::actors
