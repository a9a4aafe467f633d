#include "actors/journal.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace aetherium::actors {

namespace {

struct journal_state {
  std::shared_ptr<event_store> store;
  caf::actor reader;
  std::uint64_t next_token = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> pending;
};

caf::behavior reader_actor(caf::event_based_actor*, std::shared_ptr<event_store> store) {
  return {
    [store](load_atom, const stream_id& stream) -> load_outcome {
      return store->read_stream(stream);
    },
  };
}

caf::behavior journal_actor(caf::stateful_actor<journal_state>* self,
                            std::shared_ptr<event_store> store, journal_options options) {
  self->state.store = store;
  self->state.reader = options.detached_reads
                         ? self->spawn<caf::detached + caf::linked>(reader_actor, store)
                         : self->spawn<caf::linked>(reader_actor, store);
  return {
    [self](append_atom, append_request& request) -> caf::response_promise {
      auto promise = self->make_response_promise();
      auto token = ++self->state.next_token;
      self->state.pending.emplace(token, promise);
      // The callback runs on the store's thread: it only sends a message back.
      auto me = caf::actor_cast<caf::actor>(self);
      self->state.store->append_async(std::move(request), [me, token](append_outcome outcome) {
        caf::anon_send(me, persisted_atom::value, token, std::move(outcome));
      });
      return promise;
    },
    [self](persisted_atom, std::uint64_t token, append_outcome& outcome) {
      auto it = self->state.pending.find(token);
      if (it == self->state.pending.end())
        return;
      it->second.deliver(std::move(outcome));
      self->state.pending.erase(it);
    },
    [self](load_atom atom, stream_id& stream) {
      return self->delegate(self->state.reader, atom, std::move(stream));
    },
  };
}

} // namespace

caf::actor spawn_journal(caf::actor_system& sys, std::shared_ptr<event_store> store,
                         journal_options options) {
  return sys.spawn(journal_actor, std::move(store), options);
}

} // namespace aetherium::actors
