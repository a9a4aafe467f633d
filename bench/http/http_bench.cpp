// Throughput and latency of GET /v1/tasks/{id}: the real `aetherium server` (API key
// checked, rate limiter consulted, the task read from the task board projection through
// the actors) beside a bare RESTinio endpoint in this process that answers the same JSON
// body with nothing behind it. wrk drives both with the same connections, alternately,
// twice each; the better round of each is reported.
//
//   bench_http "<admin conninfo>" [seconds per round, default 8] [connections, default 32]
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <restinio/all.hpp>

#include "adapters/http/client/api_client.hpp"
#include "bench/bench_support.hpp"
#include "bench/server_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using aetherium::bench::fail;
using aetherium::bench::run;
using aetherium::bench::server_child;
using aetherium::bench::start_server;

struct figures {
  double requests_per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  long non_2xx = 0;
};

double to_ms(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us")
    return v / 1000;
  if (unit == "s")
    return v * 1000;
  return v;
}

figures wrk(const std::string& url, const std::string& token, int seconds, int connections) {
  auto out = run("wrk -t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) + "s --latency "
                 + (token.empty() ? "" : "-H 'Authorization: Bearer " + token + "' ") + "'" + url + "' 2>&1");
  figures f;
  std::smatch m;
  if (!std::regex_search(out, m, std::regex{"Requests/sec:\\s+([0-9.]+)"}))
    fail("unexpected wrk output:\n" + out);
  f.requests_per_second = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex{"\\s50%\\s+([0-9.]+)(us|ms|s)"}))
    f.p50_ms = to_ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex{"\\s99%\\s+([0-9.]+)(us|ms|s)"}))
    f.p99_ms = to_ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex{"Non-2xx or 3xx responses:\\s+([0-9]+)"}))
    f.non_2xx = std::stol(m[1]);
  return f;
}

figures best(const figures& a, const figures& b) { return a.requests_per_second >= b.requests_per_second ? a : b; }

using bare_server_t = restinio::http_server_t<restinio::default_traits_t>;

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_http '<admin conninfo>' [seconds] [connections]\n");
    return 2;
  }
  int seconds = argc > 2 ? std::atoi(argv[2]) : 8;
  int connections = argc > 3 ? std::atoi(argv[3]) : 32;
  if (std::system("command -v wrk >/dev/null") != 0)
    fail("wrk is not installed (apt-get install -y wrk)");

  auto url = aetherium::bench::fresh_database(argv[1], "aetherium_bench_http");
  char pattern[] = "/tmp/aetherium-bench-http.XXXXXX";
  std::string work = ::mkdtemp(pattern);
  // A real image: the server starts a sandbox of each runtime to learn which ones it offers.
  auto image = run("sh " AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh | tail -n 1");
  image.erase(image.find_last_not_of('\n') + 1);
  auto env = "AETHERIUM_DATABASE_URL='" + url + "' AETHERIUM_DATA_DIR='" + work + "/data' AETHERIUM_IMAGE='" + image + "'";
  run(env + " " AETHERIUM_BINARY " migrate up");
  auto key = json::parse(run(env + " " AETHERIUM_BINARY " admin create-key --tenant acme --role admin --name bench --json"))
               .at("key")
               .get<std::string>();

  server_child real;
  // The rate limiter still runs on every request; its limit is set out of wrk's reach.
  start_server(real, env + " AETHERIUM_LISTEN=127.0.0.1:0 AETHERIUM_RATE_LIMIT=1e9 AETHERIUM_RATE_BURST=1e9",
               work + "/server.log");
  aetherium::http::api_client api{{"http://127.0.0.1:" + std::to_string(real.port), key}};
  auto project = api.create_project(json{{"name", "bench"}, {"repo", work + "/no-such-repo.git"}}.dump());
  if (!project)
    fail("create project: " + project.err().detail);
  auto task = api.create_task(
    json{{"project", json::parse(*project).at("id")}, {"agent_type", "script"}, {"prompt", "echo hi > hello.txt"}}.dump());
  if (!task)
    fail("create task: " + task.err().detail);
  auto id = json::parse(*task).at("id").get<std::string>();
  // The task fails at checkout (its repository does not exist); wait until it has, so the
  // body does not change while measured.
  std::string body;
  for (int i = 0; i < 300; ++i) {
    auto t = api.get_task(id);
    if (!t)
      fail("get task: " + t.err().detail);
    body = *t;
    auto status = json::parse(body).value("status", "");
    if (status == "failed" || status == "completed")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // The floor: RESTinio with the same traits and reactor threads, answering the same body.
  asio::io_context io;
  std::atomic<std::uint16_t> bare_port{0};
  auto bare = std::make_unique<bare_server_t>(
    restinio::external_io_context(io),
    restinio::server_settings_t<restinio::default_traits_t>{}
      .address("127.0.0.1")
      .port(0)
      .acceptor_post_bind_hook([&](asio::ip::tcp::acceptor& a) { bare_port = a.local_endpoint().port(); })
      .request_handler([&body](restinio::request_handle_t req) {
        if (req->header().method() != restinio::http_method_get() || req->header().path().rfind("/v1/tasks/", 0) != 0)
          return restinio::request_rejected();
        return req->create_response()
          .append_header(restinio::http_field::content_type, "application/json")
          .set_body(body)
          .done();
      }));
  bare->open_sync();
  auto guard = asio::make_work_guard(io);
  std::thread io_a{[&] { io.run(); }}, io_b{[&] { io.run(); }};

  auto bare_url = "http://127.0.0.1:" + std::to_string(bare_port.load()) + "/v1/tasks/" + id;
  auto real_url = "http://127.0.0.1:" + std::to_string(real.port) + "/v1/tasks/" + id;
  constexpr int rounds = 3;
  std::printf("GET /v1/tasks/{id}, body %zu bytes, wrk -t2 -c%d, %d s per round, best of %d alternating rounds each\n",
              body.size(), connections, seconds, rounds);
  figures b, r;
  for (int round = 0; round < rounds; ++round) {
    auto bare_round = wrk(bare_url, "", seconds, connections);
    auto real_round = wrk(real_url, key, seconds, connections);
    std::printf("  round %d: bare %9.0f req/s, server %9.0f req/s (%.1f%%)\n", round + 1,
                bare_round.requests_per_second, real_round.requests_per_second,
                100.0 * real_round.requests_per_second / bare_round.requests_per_second);
    b = round == 0 ? bare_round : best(b, bare_round);
    r = round == 0 ? real_round : best(r, real_round);
  }
  if (r.non_2xx > 0 || b.non_2xx > 0)
    fail("non-2xx answers: server " + std::to_string(r.non_2xx) + ", bare " + std::to_string(b.non_2xx));
  std::printf("%-30s %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms\n", "floor: bare RESTinio", b.requests_per_second,
              b.p50_ms, b.p99_ms);
  std::printf("%-30s %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms\n", "aetherium server", r.requests_per_second,
              r.p50_ms, r.p99_ms);
  std::printf("ratio: throughput %.1f%% of bare (target >= 70%%), p99 %.2fx bare (target <= 1.5x)\n",
              100.0 * r.requests_per_second / b.requests_per_second, b.p99_ms > 0 ? r.p99_ms / b.p99_ms : 0.0);

  guard.reset();
  bare->close_sync();
  io.stop();
  io_a.join();
  io_b.join();
  ::kill(real.pid, SIGKILL);
  ::waitpid(real.pid, nullptr, 0);
  real.pid = -1;
  fs::remove_all(work);
  return 0;
}
