#include "actors/projector.hpp"

#include <utility>

#include <map>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::projection_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::recorded_event)

namespace aetherium::actors {

namespace {

using apply_atom = caf::atom_constant<caf::atom("apply")>;
using saved_atom = caf::atom_constant<caf::atom("saved")>;

thread_local int reading = 0; ///< Queries this thread is inside.

struct projector_state {
  std::shared_ptr<projection> model;
  std::shared_ptr<projection_reader> reader;
  /// Readers waiting for the model to reach a position.
  std::multimap<std::int64_t, caf::response_promise> waiting;
  checkpoint_policy checkpoints;
  std::size_t since_save = 0; ///< Events folded since the last capture.
  bool saving = false;        ///< A save job runs.
  std::vector<caf::response_promise> asked;  ///< (checkpoint_atom) waiting for the next save to start.
  std::vector<caf::response_promise> saving_for; ///< ... and those the running save answers.
};

using projector_actor_t = caf::stateful_actor<projector_state>;

/// Captures the model and saves the copy on a thread of its own.
void start_save(projector_actor_t* self) {
  auto& st = self->state;
  auto job = st.checkpoints.capture(*st.model);
  st.since_save = 0;
  st.saving = true;
  st.saving_for = std::move(st.asked);
  st.asked.clear();
  auto me = caf::actor_cast<caf::actor>(self);
  self->system().spawn<caf::detached>([job, me] {
    job();
    caf::anon_send(me, saved_atom::value);
  });
}

/// Starts a save when one is due and none runs.
void maybe_save(projector_actor_t* self) {
  auto& st = self->state;
  if (st.saving || !st.checkpoints.capture)
    return;
  if (st.since_save == 0) { // nothing folded since the last save: it is the model
    for (auto& p : std::exchange(st.asked, {}))
      p.deliver(true);
    return;
  }
  bool due_by_count = st.checkpoints.every_events > 0 && st.since_save >= st.checkpoints.every_events;
  if (!st.asked.empty() || due_by_count)
    start_save(self);
}

caf::behavior projector_actor(projector_actor_t* self, std::shared_ptr<event_store> store,
                              std::shared_ptr<projection> model, std::shared_ptr<projection_reader> reader,
                              checkpoint_policy checkpoints) {
  self->state.model = std::move(model);
  self->state.reader = std::move(reader);
  self->state.checkpoints = std::move(checkpoints);
  auto every = self->state.checkpoints.every;
  if (self->state.checkpoints.capture && every.count() > 0)
    self->delayed_send(self, every, tick_atom::value);
  // The subscription thread only forwards; all folding happens in the actor. A weak handle
  // keeps the feed from holding the actor alive.
  caf::weak_actor_ptr me = self->ctrl();
  std::shared_ptr<subscription> feed =
    store->subscribe(self->state.model->position(), [me](const recorded_event& e) {
      if (auto strong = me.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), apply_atom::value, e);
    });
  self->attach_functor([feed] { feed->stop(); });
  return {
    [self](apply_atom, const recorded_event& e) {
      auto& model = *self->state.model;
      if (e.position <= model.position())
        return; // already folded (a resumed subscription may repeat one)
      self->state.reader->write([&](projection& m) {
        m.apply(e);
        m.advance(e.position);
      });
      auto& waiting = self->state.waiting;
      for (auto it = waiting.begin(); it != waiting.end() && it->first <= e.position;) {
        it->second.deliver(e.position);
        it = waiting.erase(it);
      }
      ++self->state.since_save;
      maybe_save(self);
    },
    [self, every](tick_atom) {
      if (self->state.since_save > 0 && !self->state.saving)
        start_save(self);
      self->delayed_send(self, every, tick_atom::value);
    },
    [self](saved_atom) {
      auto& st = self->state;
      st.saving = false;
      for (auto& p : st.saving_for)
        p.deliver(true);
      st.saving_for.clear();
      maybe_save(self);
    },
    [self](checkpoint_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.checkpoints.capture)
        return false;
      if (st.since_save == 0 && !st.saving)
        return true; // the saved checkpoint is the model
      auto promise = self->make_response_promise();
      if (st.since_save == 0)
        st.saving_for.push_back(promise); // the save under way covers everything folded
      else
        st.asked.push_back(promise);
      maybe_save(self);
      return promise;
    },
    [self](get_atom, projection_query& query) { self->state.reader->read(query); },
    [self](get_atom, std::int64_t position) -> caf::result<std::int64_t> {
      if (self->state.model->position() >= position)
        return self->state.model->position();
      auto promise = self->make_response_promise();
      self->state.waiting.emplace(position, promise);
      return promise;
    },
  };
}

} // namespace

void projection_reader::read(const projection_query& query) const {
  if (reading > 0) {
    query(*model_);
    return;
  }
  std::shared_lock<std::shared_mutex> lock{mtx_};
  ++reading;
  try {
    query(*model_);
  } catch (...) {
    --reading;
    throw;
  }
  --reading;
}

void projection_reader::write(const std::function<void(projection&)>& fold) {
  std::unique_lock<std::shared_mutex> lock{mtx_};
  fold(*model_);
}

std::pair<caf::actor, std::shared_ptr<projection_reader>>
spawn_readable_projector(caf::actor_system& sys, std::shared_ptr<event_store> store, std::unique_ptr<projection> model,
                         checkpoint_policy checkpoints) {
  std::shared_ptr<projection> shared{std::move(model)};
  auto reader = std::make_shared<projection_reader>(shared);
  return {sys.spawn(projector_actor, std::move(store), shared, reader, std::move(checkpoints)), reader};
}

caf::actor spawn_projector(caf::actor_system& sys, std::shared_ptr<event_store> store,
                           std::unique_ptr<projection> model) {
  return spawn_readable_projector(sys, std::move(store), std::move(model)).first;
}

} // namespace aetherium::actors
