// The dispatcher: it places each task before its runner starts, so a task waiting for
// room is an entry and a timer here, never a thread.
#include "actors/task_runner.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/domain_messages.hpp"
#include "actors/projector.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/task_runner_host.hpp"
#include "events/read_model/task_board.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::projection_query)

namespace aetherium::actors {

namespace {

using retry_atom = caf::atom_constant<caf::atom("retry")>;

/// How often a task waiting for room asks again; a runner that ends makes them all ask at once.
constexpr std::chrono::milliseconds retry_every{250};

/// What every run of the dispatcher is given.
struct dispatch_context {
  caf::actor tasks;
  caf::actor board;
  caf::actor scheduler;
  node_id node;
  execution_ports ports;
  execution_options options;
  run_launcher launch; ///< Empty: runners.
};

/// A task waiting for a node. It holds no thread: only this entry, a request to the
/// scheduler or a timer.
struct waiting_task {
  scheduling::placement_request request;
  run_mode mode = run_mode::fresh;
  caf::actor_clock::time_point give_up; ///< The task's own deadline, from when it began to wait.
  bool asking = false;                  ///< A placement request is on its way.
  bool timer_set = false;               ///< A retry is scheduled.
  bool said = false;                    ///< Its log was told that it waits.
};

struct dispatcher_state {
  std::shared_ptr<const dispatch_context> cx;
  std::unordered_map<std::string, caf::actor> runners;
  std::unordered_map<caf::actor_addr, std::string> ids;
  std::unordered_map<std::string, bool> loading; ///< Tasks being read; true once a cancel came meanwhile.
  std::unordered_map<std::string, waiting_task> waiting;
  bool stopping = false;
  std::vector<caf::response_promise> stopped; ///< Answered once the last runner has ended.
};

using dispatcher_actor = caf::stateful_actor<dispatcher_state>;

void spawn_runner(dispatcher_actor* self, const std::string& id, run_mode mode, placement_outcome placed,
                  bool cancel) {
  auto cx = self->state.cx;
  caf::actor r;
  if (cx->launch) {
    r = cx->launch(self->system(), id, mode == run_mode::recover, std::move(placed));
    self->monitor(r);
  } else {
    r = self->spawn<caf::detached + caf::monitored>([cx, id, mode, placed](caf::blocking_actor* me) {
      run_placed_task(me, cx->tasks, cx->scheduler, cx->board, placed, cx->ports, cx->options, cx->node, id, mode);
    });
  }
  if (cancel)
    self->send(r, cancel_atom::value);
  self->state.runners.emplace(id, r);
  self->state.ids.emplace(r.address(), id);
}

/// Writes one line to a task's log on a thread of its own: the log's file may block.
void say(dispatcher_actor* self, const std::string& id, const std::string& line) {
  self->spawn<caf::detached>([logs = self->state.cx->ports.logs, id, line](caf::blocking_actor*) {
    (void)logs->append(task_id{id}, "system", line + "\n");
  });
}

void on_placed(dispatcher_actor* self, const std::string& id, placement_outcome outcome);

void ask_for_room(dispatcher_actor* self, const std::string& id) {
  auto it = self->state.waiting.find(id);
  if (it == self->state.waiting.end() || it->second.asking)
    return;
  it->second.asking = true;
  self->request(self->state.cx->scheduler, caf::infinite, place_atom::value, it->second.request)
    .then([self, id](placement_outcome& o) { on_placed(self, id, std::move(o)); },
          [self, id](caf::error& e) { on_placed(self, id, make_error(errc::unavailable, caf::to_string(e))); });
}

/// Full nodes and tenant quotas free up as other tasks end: a task waits for room within
/// its own deadline; one no node can ever run, or whose deadline passed, starts its run
/// with the refusal (and fails with no_capacity).
void on_placed(dispatcher_actor* self, const std::string& id, placement_outcome outcome) {
  auto& st = self->state;
  auto it = st.waiting.find(id);
  if (it == st.waiting.end()) { // cancelled or stopped while asking: the node is given back
    if (outcome)
      caf::anon_send(st.cx->scheduler, release_atom::value, id);
    return;
  }
  auto& w = it->second;
  w.asking = false;
  auto code = outcome ? errc::internal : outcome.err().code;
  bool retry = !outcome && (code == errc::unavailable || code == errc::quota_exceeded);
  if (!retry || self->clock().now() >= w.give_up) {
    auto mode = w.mode;
    st.waiting.erase(it);
    return spawn_runner(self, id, mode, std::move(outcome), false);
  }
  if (!w.said)
    say(self, id, "waiting for room: " + outcome.err().detail);
  w.said = true;
  if (!w.timer_set)
    self->delayed_send(self, retry_every, retry_atom::value, id);
  w.timer_set = true;
}

/// The task as its actor holds it decides what the run needs: a node first, or not.
void admit(dispatcher_actor* self, const std::string& id, run_mode mode, const domain::task_state& state,
           bool cancelled) {
  auto& st = self->state;
  if (!state.exists || domain::is_terminal(state.status))
    return;
  if (cancelled || !needs_placement(state, mode))
    return spawn_runner(self, id, mode, make_error(errc::unavailable, "not placed"), cancelled);
  waiting_task w;
  w.request = placement_for(state, st.cx->ports, st.cx->node);
  w.mode = mode;
  w.give_up = self->clock().now() + std::chrono::seconds(state.spec.budgets.max_seconds);
  st.waiting.emplace(id, std::move(w));
  ask_for_room(self, id);
}

/// Reads the task, then places it (see admit); while its actor does not answer, tries
/// again every second.
void start(dispatcher_actor* self, const std::string& id, run_mode mode) {
  auto& st = self->state;
  if (st.stopping || st.runners.count(id) || st.waiting.count(id) || st.loading.count(id))
    return;
  st.loading.emplace(id, false);
  auto done = [self, id]() -> std::optional<bool> {
    auto it = self->state.loading.find(id);
    if (it == self->state.loading.end())
      return std::nullopt; // the server stopped meanwhile
    auto cancelled = it->second;
    self->state.loading.erase(it);
    return cancelled;
  };
  self->request(st.cx->tasks, caf::infinite, get_atom::value, id)
    .then(
      [self, id, mode, done](task_reply& r) {
        if (auto cancelled = done())
          admit(self, id, mode, r.state, *cancelled);
      },
      [self, id, mode, done](caf::error&) {
        if (!done())
          return;
        if (mode == run_mode::fresh)
          self->delayed_send(self, std::chrono::seconds(1), run_atom::value, id);
        else
          self->delayed_send(self, std::chrono::seconds(1), tick_atom::value, id);
      });
}

caf::behavior dispatcher(dispatcher_actor* self, std::shared_ptr<const dispatch_context> cx) {
  self->state.cx = cx;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.ids.find(msg.source);
    if (it == st.ids.end())
      return;
    st.runners.erase(it->second);
    st.ids.erase(it);
    if (st.stopping && st.runners.empty())
      for (auto& p : std::exchange(st.stopped, {}))
        p.deliver(true);
    // The run that ended may have freed room.
    std::vector<std::string> waiting;
    for (auto& [id, w] : st.waiting)
      waiting.push_back(id);
    for (auto& id : waiting)
      ask_for_room(self, id);
  });
  return {
    [self](run_atom, const std::string& id) { start(self, id, run_mode::fresh); },
    [self](cancel_atom, const std::string& id) {
      auto& st = self->state;
      if (auto r = st.runners.find(id); r != st.runners.end())
        return self->send(r->second, cancel_atom::value);
      if (auto l = st.loading.find(id); l != st.loading.end())
        l->second = true;
      if (auto w = st.waiting.find(id); w != st.waiting.end()) {
        auto mode = w->second.mode;
        st.waiting.erase(w);
        spawn_runner(self, id, mode, make_error(errc::unavailable, "cancelled while waiting for room"), true);
      }
    },
    [self](retry_atom, const std::string& id) {
      if (auto w = self->state.waiting.find(id); w != self->state.waiting.end()) {
        w->second.timer_set = false;
        ask_for_room(self, id);
      }
    },
    [self](tick_atom) {
      auto& cx = *self->state.cx;
      self->spawn<caf::detached>(sweep_workspaces, cx.board, cx.ports, cx.options);
      auto me = caf::actor_cast<caf::actor>(self);
      caf::anon_send(cx.board, get_atom::value, projection_query{[me](const projection& p) {
        auto ids = static_cast<const read_model::task_board&>(p).live_task_ids();
        for (auto& id : ids)
          caf::anon_send(me, tick_atom::value, id.str());
      }});
    },
    [self](tick_atom, const std::string& id) { start(self, id, run_mode::recover); },
    [self](get_atom) { return self->state.runners.size(); },
    [self](stop_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.stopping = true;
      st.waiting.clear(); // they stay as they are: the next start runs or resumes them
      st.loading.clear();
      if (st.runners.empty())
        return true;
      for (auto& [id, r] : st.runners)
        self->send(r, stop_atom::value);
      st.stopped.push_back(self->make_response_promise());
      return caf::delegated<bool>{};
    },
  };
}

} // namespace

caf::actor spawn_task_dispatcher(caf::actor_system& sys, caf::actor tasks, caf::actor board, caf::actor scheduler,
                                 node_id node, execution_ports ports, execution_options options,
                                 run_launcher launch) {
  auto cx = std::make_shared<const dispatch_context>(dispatch_context{std::move(tasks), std::move(board),
                                                                      std::move(scheduler), std::move(node),
                                                                      std::move(ports), std::move(options),
                                                                      std::move(launch)});
  return sys.spawn(dispatcher, std::move(cx));
}

} // namespace aetherium::actors
