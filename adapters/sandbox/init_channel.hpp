#pragma once

#include "adapters/sandbox/init_protocol.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/unique_fd.hpp"
#include "events/result.hpp"

namespace aetherium::sandbox {

/// The host's end of a sandbox init's control socket (see init_protocol.hpp): starts
/// commands inside the sandbox without a runtime `exec` process per command.
class init_channel {
public:
  /// A socket pair: the host end stays here, `init_end()` goes to the runtime's
  /// --preserve-fds. Errors: unavailable.
  static result<init_channel> open();

  /// The descriptor to hand to the sandbox's init as fd 3; close it once the runtime has it.
  int init_end() const noexcept { return init_end_.get(); }
  void close_init_end() noexcept { init_end_.reset(); }

  /// Sends `cmd` to the init and returns the host ends of its stdio and session.
  /// Thread-safe. Errors: unavailable (the init is gone or descriptors ran out).
  result<attached_command> start(const init_protocol::command& cmd, bool with_stdin) const;

  /// How a command ended, from its session: its wait status, or SIGKILL when the init
  /// died without answering (the sandbox was killed). `spawn_errno` is set when the init
  /// could not fork (for example at the pids limit); `exec_errno` when the command could
  /// not be executed (the outcome is then 127, or 126 for EACCES).
  static process_outcome read_reply(int session, int& spawn_errno, int& exec_errno);

private:
  unique_fd host_end_;
  unique_fd init_end_;
};

} // namespace aetherium::sandbox
