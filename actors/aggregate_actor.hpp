#pragma once

// The generic actor shell around one aggregate. Include it only from an actor's .cpp file:
// it pulls in all of CAF.
//
// An Aggregate type provides:
//   using state = ...; using command = ...; using event = ...;
//   static stream_id stream_of(const std::string& id);
//   static result<std::vector<event>> decide(const state&, const command&);
//   static state evolve(state, const event&);
// and optionally
//   static bool creates(const command&);  // true: decided against an empty stream
// and the actor is given a codec with
//   new_event encode(const event&, const std::string& event_id, const event_metadata&) const;
//   result<event> decode(const recorded_event&) const;

#include <chrono>
#include <type_traits>
#include <utility>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
  bool loaded = false; ///< The state was rebuilt from the stream, or the stream was created here.
  /// The causation ids of the stream's events: a command whose id is here was recorded
  /// already (its first answer was lost) and is answered without deciding it again.
  std::unordered_set<std::string> causes;
  /// The correlation id of the stream's first event ("" when it has none): a command that
  /// brings none continues the request that created the aggregate.
  std::string correlation;
  std::string id;
  caf::actor journal;
  std::shared_ptr<id_generator> ids;
  std::shared_ptr<const Codec> codec;
};

/// Whether `Aggregate` tells which commands create it (static bool creates(const command&)).
template <class Aggregate, class = void>
struct has_creates : std::false_type {};
template <class Aggregate>
struct has_creates<Aggregate, std::void_t<decltype(Aggregate::creates(std::declval<const typename Aggregate::command&>()))>>
  : std::true_type {};

template <class Aggregate>
bool creates(const typename Aggregate::command& cmd) {
  if constexpr (has_creates<Aggregate>::value)
    return Aggregate::creates(cmd);
  else
    return false;
}

/// Rebuilds the actor's state from its stream, then runs `then`; await keeps every other
/// message waiting meanwhile. A log that cannot be read or decoded is told to `failed`
/// (which answers whoever waits) and stops the actor with the reason: the registry
/// forgets it and the next command retries from the log.
template <class Aggregate, class Codec, class Then, class Failed>
void load_then(caf::stateful_actor<aggregate_state<Aggregate, Codec>>* self, Then then, Failed failed) {
  self->request(self->state.journal, caf::infinite, load_atom::value, Aggregate::stream_of(self->state.id))
    .await([self, then, failed](load_outcome& loaded) mutable {
      if (!loaded) {
        failed(loaded.err());
        self->quit(caf::make_error(caf::sec::runtime_error, loaded.err().detail));
        return;
      }
      typename Aggregate::state model;
      std::int64_t version = 0;
      self->state.causes.clear();
      for (auto& recorded : *loaded) {
        if (!recorded.metadata.causation_id.empty())
          self->state.causes.insert(recorded.metadata.causation_id);
        auto e = self->state.codec->decode(recorded);
        if (!e) {
          failed(e.err());
          self->quit(caf::make_error(caf::sec::runtime_error, e.err().detail));
          return;
        }
        model = Aggregate::evolve(std::move(model), *e);
        version = recorded.stream_version;
      }
      self->state.model = std::move(model);
      self->state.version = version;
      self->state.correlation = loaded->empty() ? std::string{} : loaded->front().metadata.correlation_id;
      self->state.loaded = true;
      then();
    });
}

/// Decides `cmd`, persists what it decided (the mailbox waits meanwhile), applies it and
/// delivers the reply. A command carrying a causation id already in the stream is a retry
/// of one that was stored: it is answered with the state, and nothing is decided again. Unloaded, it decides against the empty state, which only a command
/// that creates the aggregate may do: the append expects no stream, so if one exists after
/// all the store refuses it, and the command is decided again against the loaded stream.
template <class Aggregate, class Codec>
void handle_command(caf::stateful_actor<aggregate_state<Aggregate, Codec>>* self, typename Aggregate::command cmd,
                    command_context ctx, caf::typed_response_promise<command_reply<Aggregate>> promise,
                    bool reloaded = false) {
  using reply_t = command_reply<Aggregate>;
  using events_t = std::vector<typename Aggregate::event>;
  auto& st = self->state;
  const auto& cause = ctx.metadata.causation_id;
  if (!cause.empty() && st.causes.count(cause)) {
    promise.deliver(reply_t{events_t{}, st.model, st.version});
    return;
  }
  auto decided = Aggregate::decide(st.model, cmd);
  if (!decided || decided->empty()) {
    promise.deliver(reply_t{decided.ok() ? result<events_t>{events_t{}} : decided.err(), st.model, st.version});
    return;
  }
  // A command without a correlation id carries the one the stream was created with, or,
  // when it has none, the aggregate's id.
  auto metadata = ctx.metadata;
  if (metadata.correlation_id.empty())
    metadata.correlation_id = !st.correlation.empty() ? st.correlation : st.id;
  append_request req{Aggregate::stream_of(st.id), expected_version::exactly(st.version), {}};
  for (auto& e : *decided)
    req.events.push_back(st.codec->encode(e, st.ids->next_uuid(), metadata));
  bool creating = st.version == 0;
  auto events = std::move(*decided);
  bool optimistic = !st.loaded;
  self->request(st.journal, caf::infinite, append_atom::value, std::move(req))
    .await([self, promise, events, optimistic, reloaded, creating, cmd, ctx, metadata](append_outcome& outcome) mutable {
      auto& st = self->state;
      // Someone else wrote to the stream (an integration appending its result, or the
      // state here was never read): read it again and decide once more, once.
      if (!outcome && (optimistic || !reloaded) && outcome.err().code == errc::conflict) {
        load_then(self, [self, cmd, ctx, promise]() mutable { handle_command(self, cmd, ctx, promise, true); },
                  [self, promise](const error& e) mutable { promise.deliver(reply_t{e, self->state.model, self->state.version}); });
        return;
      }
      if (!outcome) {
        // Unavailable may mean stored after all, conflict that someone else wrote: either
        // way the state here may be behind the stream, so the next command reloads it.
        if (outcome.err().code == errc::unavailable || outcome.err().code == errc::conflict)
          st.loaded = false;
        promise.deliver(reply_t{outcome.err(), st.model, st.version});
        return;
      }
      for (auto& e : events)
        st.model = Aggregate::evolve(std::move(st.model), e);
      st.version = outcome->stream_version;
      st.loaded = true;
      if (creating)
        st.correlation = metadata.correlation_id;
      if (!ctx.metadata.causation_id.empty())
        st.causes.insert(ctx.metadata.causation_id);
      promise.deliver(reply_t{std::move(events), st.model, st.version, outcome->last_position});
    });
}

/// The actor behind one aggregate instance. It rebuilds its state from its stream before
/// the first command that needs it (a command that creates the aggregate does not: see
/// handle_command); then each command is decided, persisted, applied and answered:
/// persist, then apply, then reply. It stops itself after `idle` without messages
/// (passivation); the next command starts it again from the log.
template <class Aggregate, class Codec>
caf::behavior aggregate_actor(caf::stateful_actor<aggregate_state<Aggregate, Codec>>* self, std::string id,
                              caf::actor journal, std::shared_ptr<id_generator> ids,
                              std::shared_ptr<const Codec> codec, std::chrono::milliseconds idle) {
  using reply_t = command_reply<Aggregate>;
  self->state.codec = codec;
  self->state.id = id;
  self->state.journal = journal;
  self->state.ids = ids;
  return {
    [self](command_atom, typename Aggregate::command& cmd, command_context& ctx) -> caf::result<reply_t> {
      auto promise = self->template make_response_promise<reply_t>();
      if (self->state.loaded || creates<Aggregate>(cmd))
        handle_command(self, std::move(cmd), std::move(ctx), promise);
      else
        load_then(self, [self, cmd, ctx, promise]() mutable { handle_command(self, cmd, ctx, promise); },
                  [self, promise](const error& e) mutable { promise.deliver(reply_t{e, self->state.model, self->state.version}); });
      return promise;
    },
    [self](get_atom) -> caf::result<reply_t> {
      auto promise = self->template make_response_promise<reply_t>();
      auto answer = [self, promise]() mutable {
        promise.deliver(reply_t{std::vector<typename Aggregate::event>{}, self->state.model, self->state.version});
      };
      // Read from the stream every time: integrations (the code-host loop) append to it
      // too, so what this actor last decided may not be the stream's end.
      load_then(self, answer, [self, promise](const error& e) mutable {
        promise.deliver(reply_t{e, self->state.model, self->state.version});
      });
      return promise;
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
/// for its id starts a fresh one from the log. An exit message stops it and every live child.
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
  // Stopping the registry stops its children: an idle child would otherwise keep the
  // actor system (and so a finishing command) alive until it passivates.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, a] : self->state.live)
      self->send_exit(a, msg.reason);
    self->quit(msg.reason);
  });
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
