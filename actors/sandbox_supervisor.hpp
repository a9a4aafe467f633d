#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "events/sandbox_runtime.hpp"

namespace aetherium::actors {

/// One command to run in one fresh sandbox.
struct sandbox_job {
  sandbox_spec spec;
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string stdin_data;
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  /// Called on the supervisor's worker thread once the sandbox exists and before the
  /// command starts (and before the owner hears of the sandbox): false destroys the sandbox
  /// unstarted. Lets the workspace be filled while the sandbox starts.
  std::function<bool()> ready;
  /// Set when the run is cancelled, so a `ready` still waiting can give up.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
};

/// How a supervised run ended: the command's status, or why it never ran to the end.
struct sandbox_outcome {
  bool ran = false;        ///< False: provisioning or exec failed, see failure.
  exit_status status;
  error failure;
  std::string sandbox_id;  ///< Empty when provisioning failed.
};

/// Spawns the supervisor of one sandbox. It provisions the sandbox, runs the job's command
/// under its deadline, streams output to `owner` as (log_atom, output_stream, std::string),
/// reports (sandbox_atom, std::string sandbox_id) once provisioned, and finally
/// (sandbox_atom, sandbox_outcome), after the sandbox has been destroyed: cleanup happens
/// on every path (success, failure, deadline, cancel). (cancel_atom) kills the sandbox.
/// All calls into the runtime block, so they run on detached workers, never on the
/// scheduler.
caf::actor spawn_sandbox_supervisor(caf::actor_system& sys, std::shared_ptr<sandbox_runtime> runtime,
                                    caf::actor owner, sandbox_job job);

} // namespace aetherium::actors
