#pragma once

// The generic actor shell around one aggregate. Include it only from an actor's .cpp file:
// it pulls in all of CAF.
//
// An Aggregate type provides:
//   using state = ...; using command = ...; using event = ...;
//   static stream_id stream_of(const std::string& id);
//   static result<std::vector<event>> decide(const state&, const command&);
//   static state evolve(state, const event&);
// and the actor is given a codec with
//   new_event encode(const event&, const std::string& event_id, const event_metadata&) const;
//   result<event> decode(const recorded_event&) const;

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "events/clock.hpp"

namespace aetherium::actors {

/// What an aggregate actor replies to a command: the events it recorded (none when the
/// command changed nothing) and the state after them, or why the command was refused.
template <class Aggregate>
struct command_reply {
  result<std::vector<typename Aggregate::event>> events = std::vector<typename Aggregate::event>{};
  typename Aggregate::state state;
  std::int64_t version = 0;
  std::int64_t position = 0; ///< Global position of the last recorded event; 0 when none.
};

/// Who asked: carried into every event's metadata.
struct command_context {
  event_metadata metadata;
};

template <class Aggregate, class Codec>
struct aggregate_state {
  typename Aggregate::state model;
  std::int64_t version = 0;
  std::string id;
  caf::actor journal;
  std::shared_ptr<id_generator> ids;
  std::shared_ptr<const Codec> codec;
};

/// The actor behind one aggregate instance. At start it rebuilds its state from its
/// stream; then each command is decided, persisted (the mailbox waits meanwhile), applied
/// and answered: persist, then apply, then reply. It stops itself after `idle` without
/// messages (passivation); the next command starts it again from the log.
template <class Aggregate, class Codec>
caf::behavior aggregate_actor(caf::stateful_actor<aggregate_state<Aggregate, Codec>>* self, std::string id,
                              caf::actor journal, std::shared_ptr<id_generator> ids,
                              std::shared_ptr<const Codec> codec, std::chrono::milliseconds idle) {
  using reply_t = command_reply<Aggregate>;
  self->state.codec = codec;
  self->state.id = id;
  self->state.journal = journal;
  self->state.ids = ids;
  // Rebuild before the first command: await keeps every other message waiting.
  self->request(journal, caf::infinite, load_atom::value, Aggregate::stream_of(id))
    .await([self](load_outcome& loaded) {
      if (!loaded) {
        // The log cannot be read: crash; the registry reports it and the next command retries.
        self->quit(caf::make_error(caf::sec::runtime_error, loaded.err().detail));
        return;
      }
      for (auto& recorded : *loaded) {
        auto e = self->state.codec->decode(recorded);
        if (!e) {
          self->quit(caf::make_error(caf::sec::runtime_error, e.err().detail));
          return;
        }
        self->state.model = Aggregate::evolve(std::move(self->state.model), *e);
        self->state.version = recorded.stream_version;
      }
    });
  return {
    [self](command_atom, typename Aggregate::command& cmd, command_context& ctx) -> caf::result<reply_t> {
      auto decided = Aggregate::decide(self->state.model, cmd);
      if (!decided || decided->empty())
        return reply_t{decided.ok() ? result<std::vector<typename Aggregate::event>>{std::vector<typename Aggregate::event>{}} : decided.err(),
                       self->state.model, self->state.version};
      append_request req{Aggregate::stream_of(self->state.id),
                         expected_version::exactly(self->state.version), {}};
      for (auto& e : *decided)
        req.events.push_back(self->state.codec->encode(e, self->state.ids->next_uuid(), ctx.metadata));
      auto promise = self->template make_response_promise<reply_t>();
      auto events = std::move(*decided);
      self->request(self->state.journal, caf::infinite, append_atom::value, std::move(req))
        .await([self, promise, events](append_outcome& outcome) mutable {
          if (!outcome) {
            promise.deliver(reply_t{outcome.err(), self->state.model, self->state.version});
            return;
          }
          for (auto& e : events)
            self->state.model = Aggregate::evolve(std::move(self->state.model), e);
          self->state.version = outcome->stream_version;
          promise.deliver(reply_t{std::move(events), self->state.model, self->state.version, outcome->last_position});
        });
      return promise;
    },
    [self](get_atom) -> reply_t {
      return reply_t{std::vector<typename Aggregate::event>{}, self->state.model, self->state.version};
    },
    caf::after(idle) >> [self] { self->quit(); },
  };
}

template <class Aggregate, class Codec>
struct registry_state {
  std::unordered_map<std::string, caf::actor> live;
  std::unordered_map<caf::actor_addr, std::string> ids_by_addr;
};

/// Owns the live actors of one aggregate type: routes each command to the actor of its
/// id, spawning it (and so rebuilding it from the log) when it is not live. It monitors
/// its children: an actor that passivated or crashed is forgotten, and the next command
/// for its id starts a fresh one from the log.
template <class Aggregate, class Codec>
caf::behavior aggregate_registry(caf::stateful_actor<registry_state<Aggregate, Codec>>* self, caf::actor journal,
                                 std::shared_ptr<id_generator> ids, std::shared_ptr<const Codec> codec,
                                 std::chrono::milliseconds idle) {
  auto child = [self, journal, ids, codec, idle](const std::string& id) {
    auto it = self->state.live.find(id);
    if (it != self->state.live.end())
      return it->second;
    auto a = self->spawn(aggregate_actor<Aggregate, Codec>, id, journal, ids, codec, idle);
    self->monitor(a);
    self->state.live.emplace(id, a);
    self->state.ids_by_addr.emplace(a.address(), id);
    return a;
  };
  self->set_down_handler([self](caf::down_msg& msg) {
    auto it = self->state.ids_by_addr.find(msg.source);
    if (it == self->state.ids_by_addr.end())
      return;
    self->state.live.erase(it->second);
    self->state.ids_by_addr.erase(it);
  });
  return {
    [self, child](command_atom atom, const std::string& id, typename Aggregate::command& cmd,
                  command_context& ctx) {
      return self->delegate(child(id), atom, std::move(cmd), std::move(ctx));
    },
    [self, child](get_atom atom, const std::string& id) { return self->delegate(child(id), atom); },
    [child](actor_atom, const std::string& id) { return child(id); },
  };
}

} // namespace aetherium::actors
