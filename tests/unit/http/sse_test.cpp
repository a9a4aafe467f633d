// Following task logs with Server-Sent Events: live and after the end, resumable, and a
// slow or vanished client never holds up anyone else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/unit/http/http_fixture.hpp"

namespace aetherium::testing {
namespace {

using namespace std::chrono_literals;

/// Follows a task's log on a thread, collecting the text of every chunk.
class follower {
public:
  follower(const std::string& base_url, const std::string& token, const std::string& task, std::uint64_t from = 0)
    : thread_([=] {
        http::api_client c{http::client_options{base_url, token, 10000, 20}};
        auto r = c.follow_task_logs(task, from, [this](const std::string& chunk) {
          auto j = json::parse(chunk);
          std::lock_guard<std::mutex> guard{mtx_};
          text_ += j["text"].get<std::string>();
          cv_.notify_all();
          return true;
        });
        std::lock_guard<std::mutex> guard{mtx_};
        done_ = true;
        result_ = r ? std::to_string(*r) : "error: " + r.err().detail;
        cv_.notify_all();
      }) {}
  ~follower() {
    if (thread_.joinable())
      thread_.join();
  }

  bool wait_for_text(const std::string& want, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return text_ == want; });
  }
  /// Waits for the end; returns the offset it ended at (or the error).
  std::string wait_for_end(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, timeout, [&] { return done_; });
    return done_ ? result_ : "still running";
  }
  std::string text() {
    std::lock_guard<std::mutex> guard{mtx_};
    return text_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::string text_, result_;
  bool done_ = false;
  std::thread thread_;
};

/// A raw connection that sends a request and then reads only what the test asks for.
class raw_connection {
public:
  raw_connection(std::uint16_t port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::send(fd_, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  }
  ~raw_connection() { close(); }
  /// Reads until `marker` was seen (or the peer closed).
  std::string read_until(const std::string& marker) {
    std::string got;
    char buf[1024];
    while (got.find(marker) == std::string::npos) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

class sse : public http_fixture {
protected:
  std::string follow_request(const std::string& task) {
    return "GET /v1/tasks/" + task + "/logs?follow=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + viewer_
           + "\r\n\r\n";
  }
};

TEST_F(sse, a_follower_gets_history_then_live_output_then_the_end) {
  auto t = task(project());
  ASSERT_TRUE(core_->append_log(task_id{t}, "stdout", "cloning\n").ok());
  follower f{base_url_, viewer_, t};
  ASSERT_TRUE(f.wait_for_text("cloning\n"));
  ASSERT_TRUE(core_->wait_live_log_followers(1, 5s));
  ASSERT_TRUE(core_->append_log(task_id{t}, "stderr", "warning: x\n").ok());
  ASSERT_TRUE(f.wait_for_text("cloning\nwarning: x\n"));
  EXPECT_EQ(f.wait_for_end(100ms), "still running");
  ASSERT_TRUE(core_->advance(task_id{t}, api::task_status::completed).ok());
  EXPECT_EQ(f.wait_for_end(), "19");
  EXPECT_TRUE(core_->wait_live_log_followers(0, 5s));
}

TEST_F(sse, following_a_finished_task_replays_its_log_and_ends) {
  auto t = task(project());
  ASSERT_TRUE(core_->append_log(task_id{t}, "stdout", "line one\nline two\n").ok());
  ASSERT_TRUE(core_->advance(task_id{t}, api::task_status::failed, "boom").ok());
  follower f{base_url_, viewer_, t};
  EXPECT_EQ(f.wait_for_end(), "18");
  EXPECT_EQ(f.text(), "line one\nline two\n");
  follower from_middle{base_url_, viewer_, t, 9};
  EXPECT_EQ(from_middle.wait_for_end(), "18");
  EXPECT_EQ(from_middle.text(), "line two\n");
}

TEST_F(sse, the_stream_carries_offsets_as_event_ids) {
  auto t = task(project());
  ASSERT_TRUE(core_->append_log(task_id{t}, "stdout", "abc").ok());
  ASSERT_TRUE(core_->advance(task_id{t}, api::task_status::completed).ok());
  raw_connection c{server_->port(), follow_request(t)};
  auto text = c.read_until("event: end");
  EXPECT_NE(text.find("Content-Type: text/event-stream"), std::string::npos) << text;
  EXPECT_NE(text.find("id: 3\nevent: chunk\ndata: {\"offset\":0,\"stream\":\"stdout\",\"text\":\"abc\"}\n\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("event: end\n"), std::string::npos) << text;
}

TEST_F(sse, the_plain_log_endpoint_pages_by_offset) {
  auto t = task(project());
  ASSERT_TRUE(core_->append_log(task_id{t}, "stdout", "hello ").ok());
  ASSERT_TRUE(core_->append_log(task_id{t}, "stderr", "world").ok());
  auto r = call(viewer_, "GET", "/v1/tasks/" + t + "/logs?from=6");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  ASSERT_EQ(r.body["chunks"].size(), 1u);
  EXPECT_EQ(r.body["chunks"][0]["stream"], "stderr");
  EXPECT_EQ(r.body["next_offset"], 11);
  EXPECT_FALSE(r.body["complete"].get<bool>());
  EXPECT_EQ(call(viewer_, "GET", "/v1/tasks/" + t + "/logs?follow=maybe").status, 400);
  // Last-Event-ID decides where to start, but a bad `from` beside it is still refused.
  auto both = call(viewer_, "GET", "/v1/tasks/" + t + "/logs?from=49616680214074363024729178112", "",
                   {{"Last-Event-ID", "6"}});
  EXPECT_EQ(both.status, 400) << both.raw.body;
  auto resumed = call(viewer_, "GET", "/v1/tasks/" + t + "/logs?from=0", "", {{"Last-Event-ID", "6"}});
  ASSERT_EQ(resumed.status, 200) << resumed.raw.body;
  EXPECT_EQ(resumed.body["chunks"].size(), 1u);
}

TEST_F(sse, a_client_that_goes_away_releases_its_subscription) {
  auto t = task(project());
  raw_connection c{server_->port(), follow_request(t)};
  c.read_until("\r\n\r\n");
  ASSERT_TRUE(core_->wait_live_log_followers(1, 5s));
  c.close();
  // The next heartbeat (50 ms here) finds the connection gone.
  EXPECT_TRUE(core_->wait_live_log_followers(0, 10s));
  EXPECT_TRUE(core_->append_log(task_id{t}, "stdout", "after the client left\n").ok());
}

TEST_F(sse, a_client_that_stops_reading_does_not_hold_up_others) {
  start([](http::http_server_options& o) { o.sse_max_pending_bytes = 256 << 10; });
  auto t = task(project());
  raw_connection stalled{server_->port(), follow_request(t)};
  stalled.read_until("\r\n\r\n");
  ASSERT_TRUE(core_->wait_live_log_followers(1, 5s));
  std::string block(64 << 10, 'x');
  std::size_t appended = 0;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 256 && core_->live_log_followers() > 0; ++i, appended += block.size())
    ASSERT_TRUE(core_->append_log(task_id{t}, "stdout", block).ok());
  EXPECT_TRUE(core_->wait_live_log_followers(0, 10s)) << "the stalled stream was not dropped";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  auto health = call("", "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  follower other{base_url_, viewer_, t};
  ASSERT_TRUE(core_->advance(task_id{t}, api::task_status::completed).ok());
  EXPECT_EQ(other.wait_for_end(), std::to_string(appended));
}

TEST_F(sse, stopping_the_server_ends_live_streams) {
  auto t = task(project());
  follower f{base_url_, viewer_, t};
  ASSERT_TRUE(core_->wait_live_log_followers(1, 5s));
  server_->stop();
  EXPECT_TRUE(core_->wait_live_log_followers(0, 5s));
}

} // namespace
} // namespace aetherium::testing
