#include "adapters/sandbox/init_channel.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>

namespace aetherium::sandbox {
namespace {

error errno_error(const std::string& what) {
  return make_error(errc::unavailable, what + ": " + std::strerror(errno));
}

bool send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

result<init_channel> init_channel::open() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return errno_error("socketpair");
  init_channel channel;
  channel.host_end_.reset(pair[0]);
  channel.init_end_.reset(pair[1]);
  return channel;
}

result<attached_command> init_channel::start(const init_protocol::command& cmd, bool with_stdin) const {
  std::string body = init_protocol::encode_command(cmd);
  if (body.size() > init_protocol::max_request_bytes)
    return make_error(errc::invalid_argument, "argv and env are larger than 16 MiB", "argv");
  int in[2] = {-1, -1}, out[2], err[2], session[2];
  // A pipe, not a socket: see start_child in process_runner.cpp.
  if (with_stdin ? ::pipe2(in, O_CLOEXEC) != 0
                 : (in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    return errno_error("stdin");
  unique_fd in_child(in[0]), in_host(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd out_host(out[0]), out_child(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return errno_error("pipe");
  unique_fd err_host(err[0]), err_child(err[1]);
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, session) != 0) return errno_error("socketpair");
  unique_fd session_host(session[0]), session_child(session[1]);

  char byte = 'x';
  iovec iov{&byte, 1};
  int fds[4] = {in_child.get(), out_child.get(), err_child.get(), session_child.get()};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof fds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t sent;
  while ((sent = ::sendmsg(host_end_.get(), &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  if (sent < 0) return errno_error("the sandbox's init does not answer");
  in_child.reset();
  out_child.reset();
  err_child.reset();
  session_child.reset();

  auto size = static_cast<std::uint32_t>(body.size());
  std::string frame(reinterpret_cast<const char*>(&size), sizeof size);
  frame += body;
  // A failed write means the init or its child is gone; the reply (or its absence) says how.
  (void)send_all(session_host.get(), frame);
  return attached_command{with_stdin ? in_host.release() : -1, out_host.release(), err_host.release(),
                          session_host.release()};
}

process_outcome init_channel::read_reply(int session, int& spawn_errno, int& exec_errno) {
  std::int32_t reply[2];
  std::size_t got = 0;
  while (got < sizeof reply) {
    ssize_t n = ::recv(session, reinterpret_cast<char*>(reply) + got, sizeof reply - got, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  process_outcome outcome;
  if (got < sizeof reply) {
    outcome.signal = SIGKILL;
    outcome.exit_code = 128 + SIGKILL;
    return outcome;
  }
  if (reply[0] == init_protocol::reply_spawn_failed) {
    spawn_errno = reply[1];
    return outcome;
  }
  if (reply[0] == init_protocol::reply_exec_failed) {
    exec_errno = reply[1];
    outcome.exit_code = reply[1] == EACCES ? 126 : 127;
    return outcome;
  }
  return outcome_of_wait_status(reply[1]);
}

} // namespace aetherium::sandbox
