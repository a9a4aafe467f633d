// How the GitHub client copes with 5xx answers, rate limits and an unreachable host.
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/github/github_fixture.hpp"

using namespace aetherium;
using namespace std::chrono;

namespace {

class github_retries : public aetherium::testing::github_fixture {
protected:
  template <class F>
  static milliseconds timed(F&& f) {
    auto start = steady_clock::now();
    f();
    return duration_cast<milliseconds>(steady_clock::now() - start);
  }
};

/// A loopback port nobody listens on.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(github_retries, server_errors_are_retried_with_backoff_until_they_pass) {
  stub_.fail({{"status", 502}, {"count", 2}, {"operation", "git/create-blob"}});
  result<pull_request_ref> pr = make_error(errc::internal, "not run");
  auto took = timed([&] { pr = make_github_code_host(options())->open_pull_request(spec_, changes_); });
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  auto blobs = stub_.requests_of("git/create-blob");
  ASSERT_EQ(blobs.size(), 4u) << "two failed attempts, then one per file";
  EXPECT_EQ(blobs[0]["status"], 502);
  EXPECT_EQ(blobs[1]["status"], 502);
  EXPECT_EQ(blobs[2]["status"], 201);
  EXPECT_GE(took, milliseconds{20 + 40}) << "backoff 20 ms, then 40 ms";
  EXPECT_EQ(stub_.requests_of("git/create-commit").size(), 1u);
}

TEST_F(github_retries, persistent_server_errors_become_unavailable_after_the_last_attempt) {
  stub_.fail({{"status", 503}, {"count", 100}, {"operation", "git/create-tree"}});
  auto pr = make_github_code_host(options())->open_pull_request(spec_, changes_);
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::unavailable);
  EXPECT_NE(pr.err().detail.find("after 3 attempts"), std::string::npos) << pr.err().detail;
  EXPECT_EQ(stub_.requests_of("git/create-tree").size(), 3u);
  EXPECT_TRUE(stub_.requests_of("git/create-commit").empty());
  EXPECT_TRUE(stub_.state("acme/widgets", "refs/heads/aetherium/task-42").is_null());
}

TEST_F(github_retries, an_exhausted_rate_limit_is_waited_out_when_it_resets_soon_enough) {
  auto o = options();
  o.max_rate_limit_wait = seconds{5};
  stub_.fail({{"status", 403}, {"rate_limit_reset_in", 2}});
  result<pull_request_ref> pr = make_error(errc::internal, "not run");
  auto took = timed([&] { pr = make_github_code_host(o)->open_pull_request(spec_, changes_); });
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  EXPECT_GE(took, milliseconds{900}) << "x-ratelimit-reset was 1-2 s ahead";
  auto gets = stub_.requests_of("repos/get");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0]["status"], 403);
  EXPECT_EQ(gets[1]["status"], 200);
}

TEST_F(github_retries, a_rate_limit_beyond_the_allowed_wait_is_unavailable_with_when_to_retry) {
  stub_.fail({{"status", 403}, {"rate_limit_reset_in", 120}});
  auto pr = make_github_code_host(options())->open_pull_request(spec_, changes_);
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::unavailable);
  EXPECT_NE(pr.err().detail.find("rate limit"), std::string::npos) << pr.err().detail;
  EXPECT_NE(pr.err().detail.find("x-ratelimit-reset"), std::string::npos) << pr.err().detail;
  EXPECT_EQ(stub_.requests().size(), 1u) << "no hammering while rate-limited";
}

TEST_F(github_retries, a_secondary_rate_limit_waits_for_retry_after) {
  auto o = options();
  o.max_rate_limit_wait = seconds{5};
  stub_.fail({{"status", 429}, {"retry_after", 1}, {"operation", "pulls/create"}});
  result<pull_request_ref> pr = make_error(errc::internal, "not run");
  auto took = timed([&] { pr = make_github_code_host(o)->open_pull_request(spec_, changes_); });
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  EXPECT_GE(took, milliseconds{1000});
  EXPECT_EQ(stub_.requests_of("pulls/create").size(), 2u);
  EXPECT_EQ(stub_.pulls("acme/widgets")["pulls"].size(), 1u);
}

TEST_F(github_retries, a_long_retry_after_is_unavailable_naming_it) {
  stub_.fail({{"status", 403}, {"retry_after", 60}});
  auto pr = make_github_code_host(options())->open_pull_request(spec_, changes_);
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::unavailable);
  EXPECT_NE(pr.err().detail.find("retry after 60 s (Retry-After)"), std::string::npos) << pr.err().detail;
}

TEST_F(github_retries, an_unreachable_host_is_unavailable_after_the_last_attempt) {
  auto o = options();
  o.api_base = "http://127.0.0.1:" + std::to_string(closed_port());
  auto pr = make_github_code_host(o)->open_pull_request(spec_, changes_);
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::unavailable);
  EXPECT_NE(pr.err().detail.find("transport failure"), std::string::npos) << pr.err().detail;
  EXPECT_EQ(pr.err().detail.find("test-token"), std::string::npos) << "the token never appears in errors";
}

} // namespace
