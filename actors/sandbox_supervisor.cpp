#include "actors/sandbox_supervisor.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::sandbox_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::sandbox_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::output_stream)

namespace aetherium::actors {

namespace {

/// Blocking part, on its own thread: provision, exec, and always destroy.
sandbox_outcome run_job(sandbox_runtime& rt, const sandbox_job& job, const caf::actor& supervisor,
                        const caf::actor& owner) {
  sandbox_outcome out;
  auto handle = rt.provision(job.spec);
  if (!handle) {
    out.failure = handle.err();
    return out;
  }
  out.sandbox_id = handle->id;
  if (job.ready && !job.ready()) {
    out.failure = make_error(errc::unavailable, "the sandbox was not started: its workspace is not ready");
    (void)rt.destroy(*handle);
    return out;
  }
  caf::anon_send(supervisor, sandbox_atom::value, handle->id, static_cast<int>(handle->runtime));
  exec_request req;
  req.argv = job.argv;
  req.env = job.env;
  req.stdin_data = job.stdin_data;
  req.deadline = std::chrono::steady_clock::now() + job.timeout;
  req.on_output = [&owner](output_stream s, std::string_view chunk) {
    caf::anon_send(owner, log_atom::value, s, std::string{chunk});
  };
  auto status = rt.exec(*handle, req);
  if (status) {
    out.ran = true;
    out.status = *status;
  } else {
    out.failure = status.err();
  }
  if (auto gone = rt.destroy(*handle); !gone && out.ran) {
    out.ran = false;
    out.failure = gone.err();
  }
  return out;
}

struct supervisor_state {
  std::shared_ptr<sandbox_runtime> runtime;
  std::shared_ptr<std::atomic<bool>> cancelled;
  caf::actor owner;
  std::optional<sandbox_handle> handle;
  bool cancel_requested = false;
};

void cancel_sandbox(caf::stateful_actor<supervisor_state>* self) {
  auto rt = self->state.runtime;
  auto handle = *self->state.handle;
  // cancel() kills processes and may block briefly: keep it off the scheduler.
  self->spawn<caf::detached>([rt, handle] { (void)rt->cancel(handle); });
}

caf::behavior supervisor_actor(caf::stateful_actor<supervisor_state>* self,
                               std::shared_ptr<sandbox_runtime> rt, caf::actor owner, sandbox_job job) {
  self->state.runtime = rt;
  self->state.owner = owner;
  self->state.cancelled = job.cancelled;
  auto me = caf::actor_cast<caf::actor>(self);
  auto worker = self->spawn<caf::detached>([rt, me, owner](caf::event_based_actor* w) -> caf::behavior {
    return {[rt, me, owner, w](run_atom, const sandbox_job& j) {
      caf::anon_send(me, run_atom::value, run_job(*rt, j, me, owner));
      w->quit();
    }};
  });
  self->send(worker, run_atom::value, std::move(job));
  return {
    [self](sandbox_atom, const std::string& id, int runtime) {
      self->state.handle = sandbox_handle{id, static_cast<sandbox_runtime_kind>(runtime)};
      self->send(self->state.owner, sandbox_atom::value, id);
      if (self->state.cancel_requested)
        cancel_sandbox(self);
    },
    [self](cancel_atom) {
      self->state.cancel_requested = true;
      if (self->state.cancelled)
        *self->state.cancelled = true;
      if (self->state.handle)
        cancel_sandbox(self);
    },
    [self](run_atom, sandbox_outcome& outcome) {
      self->send(self->state.owner, sandbox_atom::value, std::move(outcome));
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_sandbox_supervisor(caf::actor_system& sys, std::shared_ptr<sandbox_runtime> runtime,
                                    caf::actor owner, sandbox_job job) {
  return sys.spawn(supervisor_actor, std::move(runtime), std::move(owner), std::move(job));
}

} // namespace aetherium::actors
