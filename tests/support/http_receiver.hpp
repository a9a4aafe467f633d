#pragma once
// Test-only: a tiny HTTP/1.1 receiver on 127.0.0.1 (port chosen by the OS) that records
// each request (lowercase header names, body) and answers a status the test chooses.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aetherium::testing {

struct received_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
};

class http_receiver {
public:
  explicit http_receiver(int status = 204) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread{[this] { serve(); }};
  }
  ~http_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_status(int status) { status_ = status; }
  /// How long each answer waits before it is sent.
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }

  std::vector<received_request> requests() {
    std::lock_guard<std::mutex> lock{mtx_};
    return requests_;
  }
  /// Waits until at least `n` requests came, for at most `timeout`; true when they did.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string data;
    char buf[4096];
    std::size_t head_end = std::string::npos, need = 0;
    while (true) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0)
        return;
      auto n = ::read(c, buf, sizeof buf);
      if (n <= 0)
        return;
      data.append(buf, static_cast<std::size_t>(n));
      if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
        auto cl = lower(data.substr(0, head_end)).find("content-length:");
        need = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 15));
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + need)
        break;
    }
    received_request r;
    auto head = data.substr(0, head_end);
    auto line_end = head.find("\r\n");
    auto first = head.substr(0, line_end);
    r.method = first.substr(0, first.find(' '));
    r.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    for (auto at = line_end + 2; at < head.size() && line_end != std::string::npos;) {
      auto end = head.find("\r\n", at);
      auto line = head.substr(at, end == std::string::npos ? std::string::npos : end - at);
      auto colon = line.find(':');
      if (colon != std::string::npos)
        r.headers[lower(line.substr(0, colon))] = line.substr(line.find_first_not_of(' ', colon + 1));
      if (end == std::string::npos)
        break;
      at = end + 2;
    }
    r.body = data.substr(head_end + 4, need);
    if (delay_ms_ > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    auto status = status_.load();
    std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::write(c, answer.data(), answer.size());
    {
      std::lock_guard<std::mutex> lock{mtx_};
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  static std::string lower(std::string s) {
    for (auto& ch : s)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_;
  std::atomic<int> delay_ms_{0};
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<received_request> requests_;
  std::thread thread_;
};

} // namespace aetherium::testing
