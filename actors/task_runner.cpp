#include "actors/task_runner_host.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>

#include <caf/all.hpp>

#include "actors/domain_messages.hpp"
#include "actors/projector.hpp"
#include "actors/sandbox_supervisor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/task_run_steps.hpp"
#include "events/clock.hpp"
#include "events/logger.hpp"
#include "events/api/validation.hpp"
#include "events/read_model/task_board.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::projection_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::sandbox_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::sandbox_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::output_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::models::call_record)

namespace aetherium::actors {

namespace {

/// One line of the server's log: the event store refused a step of a task, which is retried.
void report_retry(const std::string& task, const char* what, const error& why, std::uint64_t attempt) {
  log(log_level::warn, "event store unavailable, retrying",
      {{"task_id", task}, {"step", what}, {"error", why.detail}, {"attempt", std::to_string(attempt)}});
}

/// The blocking side of one task: talks to the task's actor, the scheduler and the sandbox
/// supervisor, and calls the blocking ports directly (it has its own thread).
class runner : public run_host {
public:
  runner(caf::blocking_actor* self, caf::actor tasks, caf::actor scheduler, caf::actor board, placement_outcome placed)
    : self_(self), tasks_(std::move(tasks)), scheduler_(std::move(scheduler)), board_(std::move(board)),
      placed_(std::move(placed)) {}

  model_poster model_posts(sandbox_callbacks&) override {
    auto me = caf::actor_cast<caf::actor>(self_);
    return {[me](models::call_record r) { caf::anon_send(me, model_atom::value, std::move(r)); },
            [me](std::string why) { caf::anon_send(me, model_atom::value, std::move(why)); }};
  }

  void drain_model_posts(sandbox_callbacks& cb) override {
    for (bool more = true; more;) {
      more = false;
      std::vector<models::call_record> calls;
      std::string why;
      self_->receive([&](model_atom, models::call_record& r) { calls.push_back(std::move(r)); more = true; },
                     [&](model_atom, std::string& w) { why = std::move(w); more = true; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
      for (auto& r : calls)
        if (cb.on_model_call)
          cb.on_model_call(r);
      if (!why.empty() && cb.on_model_budget)
        cb.on_model_budget(why);
    }
  }

  std::uint64_t tree_spend_microcents(const domain::task_state& state) override {
    auto me = caf::actor_cast<caf::actor>(self_);
    auto id = state.id;
    caf::anon_send(board_, get_atom::value, projection_query{[me, id](const projection& p) {
      auto spend = static_cast<const read_model::task_board&>(p).tree_spend_microcents(id);
      caf::anon_send(me, tree_atom::value, spend);
    }});
    std::uint64_t out = state.spend.cost_microcents;
    self_->receive([&](tree_atom, std::uint64_t spend) { out = std::max(out, spend); },
                   caf::after(std::chrono::seconds(30)) >> [] {});
    return out;
  }

  result<domain::task_state> load(const std::string& id) override {
    for (std::chrono::milliseconds pause{200};; pause = std::min(pause * 2, max_pause)) {
      result<domain::task_state> out = make_error(errc::unavailable, "no answer");
      self_->request(tasks_, answer_within, get_atom::value, id)
        .receive([&](task_reply& r) { out = r.events ? result<domain::task_state>{std::move(r.state)} : r.events.err(); },
                 [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
      if (out || out.err().code != errc::unavailable || !wait_to_retry(id, "reading the task", out.err(), pause))
        return out;
    }
  }

  /// Every step is retried while the event store is unavailable, with backoff, until it is
  /// stored or the server stops. The retry carries the first attempt's causation id, so a
  /// step that was stored although its answer was lost is not recorded twice.
  result<domain::task_state> command(const std::string& id, domain::task_command cmd,
                                     const event_metadata& md) override {
    command_context ctx{md};
    ctx.metadata.causation_id = ids_->next_uuid();
    for (std::chrono::milliseconds pause{200};; pause = std::min(pause * 2, max_pause)) {
      result<domain::task_state> out = make_error(errc::unavailable, "no answer");
      self_->request(tasks_, answer_within, command_atom::value, id, cmd, ctx)
        .receive(
          [&](task_reply& r) {
            if (r.events)
              out = r.state;
            else
              out = r.events.err();
            last_state_ = std::move(r.state);
          },
          [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
      if (out || out.err().code != errc::unavailable || !wait_to_retry(id, "recording a step", out.err(), pause))
        return out;
    }
  }

  const domain::task_state& last_state() const override { return last_state_; }

  /// The dispatcher's placement first; a later call (the node was lost before the agent
  /// started) asks the scheduler again.
  result<node_id> place(const scheduling::placement_request& r) override {
    if (!asked_again_) {
      asked_again_ = true;
      return placed_;
    }
    result<node_id> out = make_error(errc::unavailable, "the scheduler did not answer");
    self_->request(scheduler_, answer_within, place_atom::value, r)
      .receive([&](placement_outcome& o) { out = std::move(o); },
               [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
    return out;
  }

  void release(const std::string& id) override {
    caf::anon_send(scheduler_, release_atom::value, id);
  }

  sandbox_run run_sandbox(std::shared_ptr<sandbox_runtime> rt, sandbox_job job, sandbox_callbacks cb) override {
    sandbox_run run;
    auto sup = spawn_sandbox_supervisor(self_->system(), std::move(rt), caf::actor_cast<caf::actor>(self_),
                                        std::move(job));
    bool finished = false;
    std::string provisioned;
    std::vector<models::call_record> calls;
    std::string exhausted;
    while (!finished) {
      self_->receive(
        [&](model_atom, models::call_record& r) { calls.push_back(std::move(r)); },
        [&](model_atom, std::string& why) { exhausted = std::move(why); },
        [&](sandbox_atom, const std::string& sandbox_id) { provisioned = sandbox_id; },
        [&](log_atom, output_stream s, const std::string& text) {
          if (cb.on_output && !cb.on_output(s, text))
            self_->send(sup, cancel_atom::value);
        },
        [&](sandbox_atom, sandbox_outcome& o) {
          run.outcome = std::move(o);
          finished = true;
        },
        [&](cancel_atom) {
          run.cancelled = true;
          self_->send(sup, cancel_atom::value);
        },
        [&](stop_atom) {
          stopping_ = true;
          run.cancelled = true;
          self_->send(sup, cancel_atom::value);
        });
      if (!provisioned.empty()) {
        // Outside the handler: recording it talks to the task's actor.
        if (cb.on_provisioned && !cb.on_provisioned(provisioned))
          self_->send(sup, cancel_atom::value);
        provisioned.clear();
      }
      for (auto& r : std::exchange(calls, {}))
        if (cb.on_model_call && !cb.on_model_call(r))
          self_->send(sup, cancel_atom::value);
      if (!exhausted.empty() && cb.on_model_budget && !cb.on_model_budget(std::exchange(exhausted, {})))
        self_->send(sup, cancel_atom::value);
    }
    return run;
  }

  bool wait(std::chrono::milliseconds pause) override {
    if (stopping_)
      return false;
    self_->receive([&](cancel_atom) { cancelled_ = true; }, [&](stop_atom) { stopping_ = true; },
                   caf::after(pause) >> [] {});
    return !stopping_;
  }

  bool cancel_pending() override {
    // A cancel (or the server's stop) that arrived while a blocking step ran waits in the mailbox.
    if (!cancelled_ && !stopping_)
      self_->receive([&](cancel_atom) { cancelled_ = true; }, [&](stop_atom) { stopping_ = true; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
    return cancelled_ || stopping_;
  }

  bool interrupted() override {
    (void)cancel_pending();
    return stopping_;
  }

private:
  static constexpr std::chrono::milliseconds max_pause{5000};
  /// A task's actor that does not answer by then is asked again (as unavailable): the
  /// retry carries the same causation id, so it cannot record a step twice.
  static constexpr std::chrono::seconds answer_within{60};

  /// Waits `pause` before the next attempt, still taking a cancel or the server's stop;
  /// false when the server is stopping (the next start reconciles the task).
  bool wait_to_retry(const std::string& id, const char* what, const error& why, std::chrono::milliseconds pause) {
    if (++failures_ == 1 || failures_ % 10 == 0)
      report_retry(id, what, why, failures_);
    return wait(pause);
  }

  caf::blocking_actor* self_;
  caf::actor tasks_;
  caf::actor scheduler_;
  caf::actor board_;
  placement_outcome placed_; ///< What the dispatcher obtained before it started the run.
  bool asked_again_ = false;  ///< placed_ was handed out: further placements ask the scheduler.
  domain::task_state last_state_;
  bool cancelled_ = false;
  bool stopping_ = false;
  std::uint64_t failures_ = 0; ///< Attempts that found the event store unavailable.
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
};

/// The task ids that have something under the workspace root: `<id>`, `<id>-verify` and
/// the repositories kept beside them (`<id>.git`, `<id>-verify.git`).
std::set<std::string> ids_with_workspaces(workspace_provider& workspaces, const std::string& root) {
  std::set<std::string> ids;
  for (auto name : workspaces.list(root)) {
    for (std::string suffix : {".git", "-verify"})
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
    if (api::valid_id(name))
      ids.insert(name);
  }
  return ids;
}

} // namespace

void sweep_workspaces(caf::blocking_actor* self, caf::actor board, execution_ports ports, execution_options options) {
  if (options.keep_workspaces || options.workspace_root.empty() || !ports.workspaces)
    return;
  auto ids = ids_with_workspaces(*ports.workspaces, options.workspace_root);
  if (ids.empty())
    return;
  auto me = caf::actor_cast<caf::actor>(self);
  caf::anon_send(board, get_atom::value, projection_query{[me, ids](const projection& p) {
    auto& b = static_cast<const read_model::task_board&>(p);
    std::vector<std::string> terminal;
    for (auto& id : ids)
      if (auto* t = b.find_task(task_id{id}); t && domain::is_terminal(t->state.status))
        terminal.push_back(id);
    caf::anon_send(me, std::move(terminal));
  }});
  self->receive(
    [&](const std::vector<std::string>& terminal) {
      for (auto& id : terminal) {
        ports.workspaces->release(options.workspace_root + "/" + id);
        ports.workspaces->release(options.workspace_root + "/" + id + "-verify");
      }
    },
    caf::after(std::chrono::minutes(1)) >> [] {});
}

void run_placed_task(caf::blocking_actor* self, const caf::actor& tasks, const caf::actor& scheduler,
                     const caf::actor& board, placement_outcome placed, const execution_ports& ports,
                     const execution_options& options, const node_id& node, const std::string& id, run_mode mode) {
  runner host{self, tasks, scheduler, board, std::move(placed)};
  run_task(host, ports, options, node, id, mode);
}

} // namespace aetherium::actors
