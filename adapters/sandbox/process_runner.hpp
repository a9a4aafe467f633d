#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// One program to run without a shell, its input and where its output goes.
struct process_request {
  std::vector<std::string> argv; ///< argv[0] is an absolute path; it is executed as is.
  std::vector<std::string> env;  ///< KEY=VALUE entries; the child sees only these.
  std::string stdin_data;        ///< Written to stdin, then stdin is closed. Empty: /dev/null.
  /// Runs the child in a private mount namespace in which /sys/fs/cgroup/unified is
  /// unmounted: crun refuses hybrid cgroup hosts otherwise.
  bool detach_unified_cgroup = false;
  /// Host file -> path pairs bind-mounted for the child alone (in a private mount
  /// namespace), e.g. a hosts file over /etc/hosts.
  std::vector<std::pair<std::string, std::string>> bind_files;
  /// Directories hidden from the child under an empty tmpfs (in a private mount namespace).
  std::vector<std::string> hidden_dirs;
  /// Non-empty: the child joins this network namespace (when it still exists) before exec.
  std::string netns_path;
  output_callback on_output; ///< May be empty: output is discarded.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Called once when the deadline passes, on the calling thread. When empty the child is
  /// killed at once; otherwise it gets `grace` to exit before it is killed.
  std::function<void()> on_deadline;
  std::chrono::milliseconds grace{5000};
  /// Called with the child's pid right after it started, and with -1 once it was reaped.
  std::function<void(pid_t)> on_pid;
  /// Non-negative: passed to the child as descriptor 3 (for a runtime's --preserve-fds).
  int pass_fd = -1;
};

/// How a child process ended.
struct process_outcome {
  int exit_code = -1; ///< Exit status, or 128 + signal when killed by a signal.
  int signal = 0;     ///< Killing signal, 0 when it exited.
  bool deadline_reached = false;
};

/// Runs `request.argv` to completion with pipes for stdin, stdout and stderr.
/// Streams output as it arrives, stops reading once the child has exited and its pipes
/// are drained (processes that inherited them cannot hold exec up). Thread-safe.
/// Errors: invalid_argument (empty argv), unavailable (fork, pipe or exec failed: the
/// detail carries errno text).
result<process_outcome> run_process(const process_request& request);

/// A waitpid status as a process_outcome (deadline_reached false).
process_outcome outcome_of_wait_status(int status);

/// The host ends of a command that something else started (a sandbox's init): stdin (a
/// socket, or invalid for none), stdout, stderr, and `done`, which becomes readable when
/// the command ended.
struct attached_command {
  int in = -1;
  int out = -1;
  int err = -1;
  int done = -1;
};

/// Like run_process for a command started elsewhere: feeds stdin, streams output, honours
/// the deadline (`request.on_deadline`, then `hard_kill` after the grace) and, once `done`
/// is readable, asks `finish` how the command ended. Takes ownership of the descriptors.
result<process_outcome> run_attached(attached_command command, const process_request& request,
                                     const std::function<void()>& hard_kill,
                                     const std::function<process_outcome(int done_fd)>& finish);

/// Starts a long-running program and returns its pid without waiting for it. Its stdin is
/// /dev/null and its stdout and stderr are appended to `log_file`. Only argv, env and the
/// namespace settings (detach_unified_cgroup, bind_files, hidden_dirs, netns_path) of
/// `request` are used. The caller reaps it.
/// Errors: unavailable (the program could not be started).
result<pid_t> spawn_daemon(const process_request& request, const std::string& log_file);

/// Convenience: runs a command and collects stdout and stderr into strings.
struct captured_run {
  process_outcome outcome;
  std::string out;
  std::string err;
};
result<captured_run> run_captured(process_request request);

} // namespace aetherium::sandbox
