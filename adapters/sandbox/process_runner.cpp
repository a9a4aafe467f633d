#include "adapters/sandbox/process_runner.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox {
namespace {

using steady = std::chrono::steady_clock;

// glibc 2.36's <sys/pidfd.h> lacks C linkage for C++; the raw system calls are simpler.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_kill(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

error errno_error(const std::string& what) {
  return make_error(errc::unavailable, what + ": " + std::strerror(errno));
}

[[noreturn]] void report_and_exit(int report_fd) {
  int err = errno;
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

/// What the child does to its mount namespace before exec; built before fork.
struct child_mounts {
  unique_fd netns; ///< Network namespace to join, or invalid.
  bool private_ns = false;
  bool detach_unified = false;
  std::vector<const char*> sources;
  std::vector<const char*> targets;
  std::vector<const char*> hidden;
};

child_mounts plan_mounts(const process_request& request) {
  child_mounts m;
  m.detach_unified = request.detach_unified_cgroup;
  for (const auto& [source, target] : request.bind_files) {
    m.sources.push_back(source.c_str());
    m.targets.push_back(target.c_str());
  }
  for (const auto& dir : request.hidden_dirs) m.hidden.push_back(dir.c_str());
  m.private_ns = m.detach_unified || !m.sources.empty() || !m.hidden.empty();
  if (!request.netns_path.empty())
    m.netns.reset(::open(request.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  return m;
}

/// Runs in the child; async-signal-safe calls only.
bool apply_mounts(const child_mounts& m) {
  if (m.netns.valid() && ::setns(m.netns.get(), CLONE_NEWNET) != 0) return false;
  if (!m.private_ns) return true;
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return false;
  if (m.detach_unified && ::umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0) return false;
  for (std::size_t i = 0; i < m.sources.size(); ++i)
    if (::mount(m.sources[i], m.targets[i], nullptr, MS_BIND, nullptr) != 0) return false;
  for (const char* dir : m.hidden)
    if (::mount("tmpfs", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") != 0)
      return false;
  return true;
}

/// The child's side: runs between fork and execve, so it uses only async-signal-safe calls.
[[noreturn]] void exec_child(const child_mounts& mounts, char* const* argv, char* const* envp,
                             int in_fd, int out_fd, int err_fd, int report_fd, int pass_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  ::setsid();
  if (!apply_mounts(mounts)) report_and_exit(report_fd);
  // Out of the way of 0..4 first, so no dup2 below overwrites a descriptor still needed.
  report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 10);
  if (pass_fd >= 0 && (pass_fd = ::fcntl(pass_fd, F_DUPFD_CLOEXEC, 10)) < 0) report_and_exit(report_fd);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
    report_and_exit(report_fd);
  int report_at = pass_fd >= 0 ? 4 : 3;
  if (pass_fd >= 0 && ::dup2(pass_fd, 3) < 0) report_and_exit(report_fd);
  if (::dup2(report_fd, report_at) < 0) report_and_exit(report_fd);
  ::fcntl(report_at, F_SETFD, FD_CLOEXEC);
  ::close_range(report_at + 1, ~0u, 0);
  ::execve(argv[0], argv, envp);
  report_and_exit(report_at);
}

/// Reads the child's exec report: true when exec succeeded (the pipe closed empty).
bool exec_succeeded(int report_fd, int& child_errno) {
  ssize_t n;
  while ((n = ::read(report_fd, &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {}
  return n != static_cast<ssize_t>(sizeof child_errno);
}

std::vector<char*> c_strings(const std::vector<std::string>& in) {
  std::vector<char*> out;
  out.reserve(in.size() + 1);
  for (const auto& s : in) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

/// Parent-side ends of one child's stdio.
struct child_pipes {
  unique_fd in; ///< A socket, so writes after the child is gone never raise SIGPIPE.
  unique_fd out;
  unique_fd err;
  unique_fd pidfd;
  pid_t pid = -1;
};

/// Reads what is available from `fd`; returns false at end of file or on a hard error.
bool pump(int fd, output_stream which, const output_callback& sink) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (sink) sink(which, std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

void set_nonblocking(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

result<child_pipes> start_child(const process_request& request) {
  bool has_input = !request.stdin_data.empty();
  int in[2] = {-1, -1}, out[2], err[2], report[2];
  // A pipe, never a socket: a child that sendfile()s a socket into its stdout pipe (busybox
  // cat) holds that pipe's lock while it waits for input, so our read of its output would
  // wait for the lock, and it for input we could no longer write.
  if (has_input ? ::pipe2(in, O_CLOEXEC) != 0
                : (in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    return errno_error("stdin");
  unique_fd in0(in[0]), in1(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd out0(out[0]), out1(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd err0(err[0]), err1(err[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd report0(report[0]), report1(report[1]);

  auto argv = c_strings(request.argv);
  auto envp = c_strings(request.env);
  auto mounts = plan_mounts(request);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0)
    exec_child(mounts, argv.data(), envp.data(), in0.get(), out1.get(), err1.get(), report1.get(),
               request.pass_fd);
  report1.reset();
  int child_errno = 0;
  if (!exec_succeeded(report0.get(), child_errno)) {
    ::waitpid(pid, nullptr, 0);
    errno = child_errno;
    return errno_error("exec " + request.argv[0]);
  }
  child_pipes pipes;
  pipes.pid = pid;
  pipes.pidfd.reset(pidfd_open(pid));
  if (!pipes.pidfd.valid()) {
    auto e = errno_error("pidfd_open");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return e;
  }
  pipes.in = std::move(in1);
  pipes.out = std::move(out0);
  pipes.err = std::move(err0);
  set_nonblocking(pipes.in.get());
  set_nonblocking(pipes.out.get());
  set_nonblocking(pipes.err.get());
  return pipes;
}

int poll_timeout_ms(steady::time_point until) {
  if (until == steady::time_point::max()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left + 1, 60'000));
}

/// Writes the next piece of stdin; closes our end when all is written or the child quit.
void feed_stdin(child_pipes& p, const std::string& data, size_t& offset) {
  // A child that closed its stdin must not kill us with SIGPIPE: block it in this thread
  // for the write and take the one it raised.
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  ssize_t n = ::write(p.in.get(), data.data() + offset, std::min<size_t>(data.size() - offset, 1 << 16));
  int write_errno = errno;
  if (n < 0 && write_errno == EPIPE) {
    timespec no_wait{0, 0};
    (void)::sigtimedwait(&pipe_only, nullptr, &no_wait);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (n > 0) offset += static_cast<size_t>(n);
  if (offset >= data.size() || (n < 0 && write_errno != EAGAIN && write_errno != EINTR)) p.in.reset();
}

/// Tracks the two-stage deadline: first on_deadline (or a kill), then a hard kill.
struct deadline_state {
  steady::time_point next;
  bool fired = false;
  bool hard_killed = false;
};

void check_deadline(const process_request& request, const std::function<void()>& hard_kill,
                    deadline_state& d) {
  if (steady::now() < d.next) return;
  if (!d.fired) {
    d.fired = true;
    if (request.on_deadline) {
      request.on_deadline();
      d.next = steady::now() + request.grace;
      return;
    }
  }
  if (!d.hard_killed) {
    hard_kill();
    d.hard_killed = true;
  }
  d.next = steady::time_point::max();
}

/// Feeds stdin and streams output until `p.pidfd` (or whatever stands in for it) is
/// readable, then drains what output is left. Returns whether the deadline fired.
bool pump_until_done(child_pipes& p, const process_request& request,
                     const std::function<void()>& hard_kill) {
  size_t in_offset = 0;
  deadline_state d{request.deadline};
  for (;;) {
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {p.pidfd.get(), POLLIN, 0};
    int out_at = p.out.valid() ? static_cast<int>(n) : -1;
    if (p.out.valid()) fds[n++] = {p.out.get(), POLLIN, 0};
    int err_at = p.err.valid() ? static_cast<int>(n) : -1;
    if (p.err.valid()) fds[n++] = {p.err.get(), POLLIN, 0};
    if (p.in.valid()) fds[n++] = {p.in.get(), POLLOUT, 0};
    int ready = ::poll(fds, n, poll_timeout_ms(d.next));
    if (ready < 0 && errno != EINTR) break;
    check_deadline(request, hard_kill, d);
    // Input first; output only when poll says it is there.
    if (p.in.valid()) feed_stdin(p, request.stdin_data, in_offset);
    auto readable = [&](int at) { return ready > 0 && at >= 0 && (fds[at].revents & (POLLIN | POLLHUP | POLLERR)); };
    if (readable(out_at) && !pump(p.out.get(), output_stream::out, request.on_output)) p.out.reset();
    if (readable(err_at) && !pump(p.err.get(), output_stream::err, request.on_output)) p.err.reset();
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) break;
  }
  return d.fired;
}

void drain(child_pipes& p, const process_request& request) {
  if (p.out.valid()) pump(p.out.get(), output_stream::out, request.on_output);
  if (p.err.valid()) pump(p.err.get(), output_stream::err, request.on_output);
}

} // namespace

process_outcome outcome_of_wait_status(int status) {
  process_outcome outcome;
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
    outcome.exit_code = 128 + outcome.signal;
  }
  return outcome;
}

result<process_outcome> run_process(const process_request& request) {
  if (request.argv.empty() || request.argv[0].empty() || request.argv[0][0] != '/')
    return make_error(errc::invalid_argument, "argv[0] must be an absolute path", "argv");
  auto started = start_child(request);
  if (!started) return started.err();
  child_pipes& p = *started;
  if (request.on_pid) request.on_pid(p.pid);
  bool fired = pump_until_done(p, request, [&p] { pidfd_kill(p.pidfd.get(), SIGKILL); });
  int status = 0;
  while (::waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {}
  drain(p, request);
  if (request.on_pid) request.on_pid(-1);
  auto outcome = outcome_of_wait_status(status);
  outcome.deadline_reached = fired;
  return outcome;
}

result<process_outcome> run_attached(attached_command command, const process_request& request,
                                     const std::function<void()>& hard_kill,
                                     const std::function<process_outcome(int done_fd)>& finish) {
  child_pipes p;
  p.in.reset(command.in);
  p.out.reset(command.out);
  p.err.reset(command.err);
  p.pidfd.reset(command.done);
  if (!p.out.valid() || !p.err.valid() || !p.pidfd.valid())
    return make_error(errc::invalid_argument, "an attached command needs stdout, stderr and done");
  set_nonblocking(p.in.get());
  set_nonblocking(p.out.get());
  set_nonblocking(p.err.get());
  bool fired = pump_until_done(p, request, hard_kill);
  process_outcome outcome = finish(p.pidfd.get());
  drain(p, request);
  outcome.deadline_reached = fired;
  return outcome;
}

result<pid_t> spawn_daemon(const process_request& request, const std::string& log_file) {
  if (request.argv.empty() || request.argv[0].empty() || request.argv[0][0] != '/')
    return make_error(errc::invalid_argument, "argv[0] must be an absolute path", "argv");
  unique_fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  unique_fd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!in.valid() || !log.valid()) return errno_error("open " + log_file);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd report0(report[0]), report1(report[1]);
  auto argv = c_strings(request.argv);
  auto envp = c_strings(request.env);
  auto mounts = plan_mounts(request);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0)
    exec_child(mounts, argv.data(), envp.data(), in.get(), log.get(), log.get(), report1.get(),
               request.pass_fd);
  report1.reset();
  int child_errno = 0;
  if (!exec_succeeded(report0.get(), child_errno)) {
    ::waitpid(pid, nullptr, 0);
    errno = child_errno;
    return errno_error("start " + request.argv[0]);
  }
  return pid;
}

result<captured_run> run_captured(process_request request) {
  captured_run run;
  request.on_output = [&run](output_stream which, std::string_view chunk) {
    (which == output_stream::out ? run.out : run.err).append(chunk);
  };
  auto outcome = run_process(request);
  if (!outcome) return outcome.err();
  run.outcome = *outcome;
  return run;
}

} // namespace aetherium::sandbox
