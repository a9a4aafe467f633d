#include "adapters/sandbox/gateway_connector.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

namespace aetherium::sandbox {
namespace {

constexpr int connect_timeout_s = 10; ///< A gateway whose backlog stays full this long fails.

/// Sends `err` and, when it is 0, descriptor `fd` as one message.
void reply(int channel, std::int32_t err, int fd) {
  iovec iov{&err, sizeof err};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  if (err == 0) {
    msg.msg_control = space;
    msg.msg_controllen = sizeof space;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fd);
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (::sendmsg(channel, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

/// The connector's whole life: one connection to `address` per byte read from `channel`.
[[noreturn]] void serve(int channel, pid_t proxy, const sockaddr_un& address) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != proxy) ::_exit(0); // the proxy died before the line above
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  for (;;) {
    char request = 0;
    ssize_t n = ::recv(channel, &request, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);
    unique_fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    std::int32_t err = 0;
    if (!s.valid()) {
      err = errno;
    } else {
      timeval limit{connect_timeout_s, 0}, none{0, 0};
      ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) err = errno;
      ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    }
    reply(channel, err, s.get());
  }
}

} // namespace

result<unique_fd> start_gateway_connector(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path)
    return make_error(errc::unavailable, "bad gateway socket path");
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
    return make_error(errc::unavailable, std::string("socketpair: ") + std::strerror(errno));
  unique_fd proxy_end(ends[0]), connector_end(ends[1]);
  pid_t proxy = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return make_error(errc::unavailable, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    proxy_end.reset();
    serve(connector_end.get(), proxy, address);
  }
  return proxy_end;
}

result<unique_fd> connect_gateway(int channel) {
  auto gone = [] { return make_error(errc::unavailable, "the gateway connector is gone"); };
  ssize_t sent;
  while ((sent = ::send(channel, "c", 1, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
  if (sent != 1) return gone();
  std::int32_t err = 0;
  iovec iov{&err, sizeof err};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  ssize_t n;
  while ((n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  if (n != static_cast<ssize_t>(sizeof err)) return gone();
  unique_fd fd;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(c), sizeof received);
      fd.reset(received);
    }
  if (err != 0) return make_error(errc::unavailable, std::string("connect: ") + std::strerror(err));
  if (!fd.valid()) return gone();
  return fd;
}

} // namespace aetherium::sandbox
