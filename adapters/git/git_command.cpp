#include "adapters/git/git_command.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace aetherium::git {

namespace {

std::atomic<bool> ssh_allowed{false};

/// The environment git runs with: the server's own, minus anything that would widen what
/// git may do, plus the transport allow-list.
std::vector<std::string> git_environment() {
  static const char* dropped[] = {"GIT_ALLOW_PROTOCOL=", "GIT_TERMINAL_PROMPT=", "GIT_ASKPASS=", "SSH_ASKPASS=",
                                  "GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_EXTERNAL_DIFF="};
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    bool keep = true;
    for (auto* d : dropped)
      keep = keep && std::strncmp(*e, d, std::strlen(d)) != 0;
    if (keep)
      env.emplace_back(*e);
  }
  env.emplace_back(ssh_allowed ? "GIT_ALLOW_PROTOCOL=file:https:ssh" : "GIT_ALLOW_PROTOCOL=file:https");
  env.emplace_back("GIT_TERMINAL_PROMPT=0");
  env.emplace_back("GIT_ASKPASS=/bin/false");
  return env;
}

/// Pumps stdin and both output pipes until the child closes them, or the limits end it.
/// Returns the reason it was stopped, empty when it ran to the end.
std::string pump(pid_t group, int in_fd, int out_fd, int err_fd, const std::string& input, git_output& out,
                 const git_limits& limits) {
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  std::string stopped;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    if (stopped.empty() && std::chrono::steady_clock::now() > limits.deadline)
      stopped = "it ran past the task's deadline";
    else if (stopped.empty() && limits.cancelled && limits.cancelled())
      stopped = "the task was cancelled";
    if (!stopped.empty())
      ::kill(-group, SIGKILL);
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (::poll(fds, n, 50) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents)
        continue;
      if (fds[i].fd == in_fd) {
        auto w = ::write(in_fd, input.data() + written, std::min<std::size_t>(input.size() - written, 1 << 16));
        if (w > 0)
          written += static_cast<std::size_t>(w);
        if (w < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      auto r = ::read(fds[i].fd, buf, sizeof buf);
      auto& text = fds[i].fd == out_fd ? out.out : out.err;
      if (r > 0 && text.size() < (64u << 20)) {
        text.append(buf, static_cast<std::size_t>(r));
      } else if (r <= 0) {
        ::close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0)
    ::close(in_fd);
  return stopped;
}

} // namespace

/// git's path, searched once in PATH: a PATH search per command costs an execve per entry.
static const std::string& git_binary() {
  static const std::string found = [] {
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/bin:/bin";
    for (std::size_t at = 0; at <= dirs.size();) {
      auto end = std::min(dirs.find(':', at), dirs.size());
      auto candidate = dirs.substr(at, end - at) + "/git";
      if (end > at && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
      at = end + 1;
    }
    return std::string{"git"};
  }();
  return found;
}

void allow_ssh(bool allowed) { ssh_allowed = allowed; }

result<git_output> run_git(const std::vector<std::string>& args, const std::string& cwd, const std::string& input,
                           const git_limits& limits) {
  std::vector<std::string> full = {"git", "-c", "safe.directory=*", "-c", "user.name=Aetherium",
                                   "-c", "user.email=aetherium@localhost", "-c", "core.quotepath=off",
                                   "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                                   "-c", "http.followRedirects=false", "-C", cwd};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_text = git_environment();
  std::vector<char*> envp;
  for (auto& e : env_text)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return make_error(errc::unavailable, std::string{"pipe: "} + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, git_binary().c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return make_error(errc::unavailable, std::string{"cannot start git: "} + std::strerror(rc));
  }
  git_output result_out;
  // A git that exits before reading all its input must not kill this process with SIGPIPE:
  // block it in this thread while writing, and take any that arrived before unblocking.
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  auto stopped = pump(pid, in[1], out[0], err[0], input, result_out, limits);
  timespec no_wait{0, 0};
  while (::sigtimedwait(&pipe_only, nullptr, &no_wait) == SIGPIPE) {
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL); // helpers git left behind (remote transports) go with it
  if (!stopped.empty())
    return make_error(errc::unavailable, "git " + (args.empty() ? std::string{} : args[0]) + " was stopped: " + stopped);
  result_out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result_out;
}

result<std::string> git_ok(const std::vector<std::string>& args, const std::string& cwd, const std::string& input,
                           const git_limits& limits) {
  auto res = run_git(args, cwd, input, limits);
  if (!res)
    return res.err();
  if (res->exit_code == 0)
    return std::move(res->out);
  auto& e = res->err;
  auto code = errc::internal;
  if (e.find("not found") != std::string::npos || e.find("does not exist") != std::string::npos
      || e.find("not a git repository") != std::string::npos
      || e.find("did not match any") != std::string::npos
      || e.find("unknown revision") != std::string::npos
      || e.find("Remote branch") != std::string::npos)
    code = errc::not_found;
  else if (e.find("Could not resolve host") != std::string::npos
           || e.find("unable to access") != std::string::npos)
    code = errc::unavailable;
  return make_error(code, "git " + (args.empty() ? std::string{} : args[0]) + " failed: " + e);
}

} // namespace aetherium::git
