// aetherium-sandbox-init: pid 1 of every sandbox.
//
// Keeps the sandbox's namespaces alive between commands and reaps orphans, so zombies
// never pile up against the pids limit. Every catchable signal but SIGCHLD is ignored, so
// signals sent to "all processes" reach only the commands; only SIGKILL from outside ends
// the sandbox.
//
// With `--serve-fd=N` it also starts commands for the host: N is one end of a
// SOCK_SEQPACKET socket pair whose other end the host kept (passed in with the runtime's
// --preserve-fds). Each message carries four descriptors: stdin, stdout, stderr and a
// stream socket for the session. The forked child reads the command from the session
// (see init_protocol.hpp), resets signals and execs it; it inherits everything the
// runtime applied to this process (user, no capabilities, no_new_privs, seccomp,
// namespaces, cgroup, rlimits), which is what `<runtime> exec` applies too. When the child
// ends, the init writes its wait status to the session and closes it.
//
// Linked statically: it runs in any root filesystem, including ones without a libc.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/init_protocol.hpp"

namespace {

using namespace aetherium::sandbox::init_protocol;

bool read_full(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

void write_text(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

/// `name` as execve sees it: as given when it has a slash, else the first PATH match.
int exec_searching(const std::vector<char*>& argv, const std::vector<char*>& envp) {
  std::string name = argv[0];
  if (name.find('/') != std::string::npos) {
    ::execve(name.c_str(), argv.data(), envp.data());
    return errno;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char* entry : envp)
    if (entry && std::strncmp(entry, "PATH=", 5) == 0) path = entry + 5;
  int failure = ENOENT;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = end > start ? path.substr(start, end - start) : ".";
    std::string candidate = dir + "/" + name;
    ::execve(candidate.c_str(), argv.data(), envp.data());
    if (errno == EACCES) failure = EACCES;
    start = end + 1;
  }
  return failure;
}

/// The forked child: reads its command from the session, then becomes it.
[[noreturn]] void run_child(int in, int out, int err, int session) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  std::uint32_t size = 0;
  if (!read_full(session, &size, sizeof size) || size > max_request_bytes) ::_exit(127);
  std::string body(size, '\0');
  if (!read_full(session, body.data(), size)) ::_exit(127);
  command cmd;
  if (!decode_command(body, cmd)) ::_exit(127);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
  // The session stays open as fd 3 until execve succeeds (close-on-exec), so a failed
  // execve can be reported as such rather than as an exit status the command could have.
  if (session != 3 && ::dup3(session, 3, O_CLOEXEC) < 0) ::_exit(127);
  if (session == 3 && ::fcntl(3, F_SETFD, FD_CLOEXEC) != 0) ::_exit(127);
  ::close_range(4, ~0u, 0);
  if (::chdir(cmd.cwd.c_str()) != 0) {
    write_text(2, "aetherium-sandbox-init: cannot enter " + cmd.cwd + ": " + std::strerror(errno) + "\n");
    ::_exit(127);
  }
  std::vector<char*> argv, envp;
  for (auto& a : cmd.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : cmd.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int failure = exec_searching(argv, envp);
  write_text(2, "aetherium-sandbox-init: cannot execute " + cmd.argv[0] + ": " + std::strerror(failure) + "\n");
  std::int32_t reply[2] = {reply_exec_failed, failure};
  (void)::send(3, reply, sizeof reply, MSG_NOSIGNAL);
  ::_exit(failure == EACCES ? 126 : 127);
}

void send_reply(int session, std::int32_t kind, std::int32_t value) {
  std::int32_t reply[2] = {kind, value};
  (void)::send(session, reply, sizeof reply, MSG_NOSIGNAL);
  ::close(session);
}

/// Receives one request; false when the host closed its end.
bool accept_request(int control, std::map<pid_t, int>& sessions) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  ssize_t n = ::recvmsg(control, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    auto* data = reinterpret_cast<int*>(CMSG_DATA(c));
    fds.insert(fds.end(), data, data + count);
  }
  if (fds.size() != 4) {
    for (int fd : fds) ::close(fd);
    return true;
  }
  pid_t pid = ::fork();
  if (pid == 0) run_child(fds[0], fds[1], fds[2], fds[3]);
  for (int i = 0; i < 3; ++i) ::close(fds[i]);
  if (pid < 0) {
    send_reply(fds[3], reply_spawn_failed, errno);
    return true;
  }
  sessions[pid] = fds[3];
  return true;
}

void reap(std::map<pid_t, int>& sessions) {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = sessions.find(pid);
    if (it == sessions.end()) continue; // an orphan that was reparented to us
    send_reply(it->second, reply_exited, status);
    sessions.erase(it);
  }
}

int parse_serve_fd(int argc, char** argv) {
  constexpr const char* flag = "--serve-fd=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) return std::atoi(argv[i] + std::strlen(flag));
  return -1;
}

} // namespace

int main(int argc, char** argv) {
  // Not dumpable: the sandbox's processes run as the same user, and must not reach the
  // control socket through /proc/1/fd or pidfd_getfd.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD) std::signal(sig, SIG_IGN);
  sigset_t child;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &child, nullptr);
  int children = ::signalfd(-1, &child, SFD_CLOEXEC);
  int control = parse_serve_fd(argc, argv);
  if (control >= 0 && ::fcntl(control, F_SETFD, FD_CLOEXEC) != 0) control = -1;
  std::map<pid_t, int> sessions;
  for (;;) {
    pollfd fds[2] = {{children, POLLIN, 0}, {control, POLLIN, 0}};
    if (::poll(fds, control >= 0 ? 2 : 1, -1) < 0) continue;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(children, &info, sizeof info) < 0 && errno == EINTR) {}
      reap(sessions);
    }
    if (control >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !accept_request(control, sessions)) {
      ::close(control);
      control = -1;
    }
  }
}
