#pragma once
// Test-only: a TCP port on 127.0.0.1 that takes connections into its backlog and never
// answers, as a remote that hangs would.

#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aetherium::testing {

class silent_listener {
public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0
        && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n) == 0)
      address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~silent_listener() { ::close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;

  /// "127.0.0.1:<port>", or empty when the socket could not listen.
  const std::string& address() const { return address_; }

private:
  int fd_ = -1;
  std::string address_;
};

} // namespace aetherium::testing
