#pragma once

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/unique_fd.hpp"

namespace aetherium::sandbox_testing {

/// A gateway stand-in on a host UNIX socket. A connection whose bytes hold an HTTP request
/// head gets "<name> saw <request line>" as a 200 response; one that ends its output
/// without a head gets "echo:" and what it sent. Either way the connection is then closed.
class socket_responder {
public:
  explicit socket_responder(std::string name) : name_(std::move(name)) {
    char tmpl[] = "/tmp/aegw-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    path_ = dir_ + "/gateway.sock";
    ::chmod(dir_.c_str(), 0700);
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::chmod(path_.c_str(), 0600) != 0 || ::listen(listener_.get(), 16) != 0)
      return;
    int stop[2];
    if (::pipe2(stop, O_CLOEXEC) != 0) return;
    stop_read_.reset(stop[0]);
    stop_write_.reset(stop[1]);
    thread_ = std::thread([this] { loop(); });
  }
  ~socket_responder() {
    if (thread_.joinable()) {
      (void)!::write(stop_write_.get(), "x", 1);
      thread_.join();
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  bool ok() const { return thread_.joinable(); }
  const std::string& path() const { return path_; }
  int connections() const { return connections_.load(); }
  /// Everything each connection sent, in order.
  std::vector<std::string> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

private:
  void loop() {
    for (;;) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) <= 0 || fds[1].revents) return;
      sandbox::unique_fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client.valid()) continue;
      ++connections_;
      answer(client.get());
    }
  }

  void answer(int client) {
    std::string data;
    char buf[4096];
    bool ended = false;
    while (data.find("\r\n\r\n") == std::string::npos) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) {
        ended = n == 0;
        break;
      }
      data.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(data);
    }
    std::string reply;
    if (auto head_end = data.find("\r\n"); data.find("\r\n\r\n") != std::string::npos) {
      std::string body = name_ + " saw " + data.substr(0, head_end) + "\n";
      reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body;
    } else if (ended) {
      reply = "echo:" + data;
    }
    (void)!::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  std::string name_, dir_, path_;
  sandbox::unique_fd listener_, stop_read_, stop_write_;
  std::thread thread_;
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> received_;
};

} // namespace aetherium::sandbox_testing
