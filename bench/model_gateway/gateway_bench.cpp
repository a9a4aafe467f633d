// The model gateway's cost per call: the same Messages call made straight to a provider
// stub on loopback (the floor) and through a gateway session's UNIX socket (key swapped,
// answer streamed back, usage read, call recorded), JSON and streamed answers alike.
//
// Usage: bench_model_gateway [calls]   (default 300; needs python3)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/model_gateway/http_gateway.hpp"

using namespace aetherium;
using clock_type = std::chrono::steady_clock;

namespace {

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

/// Milliseconds of each of `calls` POSTs of `body` to `url` (over `socket` when given),
/// each on a new connection as the gateway answers with connection: close.
std::vector<double> time_calls(const std::string& url, const std::string& socket, const std::string& key,
                               const std::string& body, int calls) {
  std::vector<double> ms;
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "content-type: application/json");
  headers = curl_slist_append(headers, ("x-api-key: " + key).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  if (!socket.empty())
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  for (int i = 0; i < calls; ++i) {
    auto start = clock_type::now();
    long status = 0;
    if (curl_easy_perform(c) != CURLE_OK || (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
      std::fprintf(stderr, "call %d to %s failed (status %ld)\n", i, url.c_str(), status);
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  std::sort(ms.begin(), ms.end());
  return ms;
}

double pct(const std::vector<double>& sorted, double p) {
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

} // namespace

int main(int argc, char** argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 300;
  auto dir = std::filesystem::temp_directory_path() / ("aetherium-gw-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto port_file = (dir / "port").string();
  pid_t stub = ::fork();
  if (stub == 0) {
    std::string script = AETHERIUM_SOURCE_DIR "/tests/agents/stubs/anthropic_stub.py";
    auto log = (dir / "stub.log").string();
    ::execlp("python3", "python3", script.c_str(), "--port-file", port_file.c_str(), "--log", log.c_str(),
             "--expect-key", "real-key", nullptr);
    ::_exit(127);
  }
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::ifstream{port_file} >> port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) {
    std::fprintf(stderr, "the stub did not start\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto upstream = "http://127.0.0.1:" + std::to_string(port);
  model_gateway::gateway_options options;
  options.socket_dir = (dir / "gateway").string();
  options.upstreams["anthropic"] = upstream;
  auto gateway = model_gateway::make_http_model_gateway(options);
  std::atomic<int> recorded{0};
  models::session_spec spec;
  spec.task = "bench";
  spec.providers = {"anthropic"};
  spec.keys = {{"anthropic", "real-key"}};
  spec.on_call = [&](const models::call_record&) {
    ++recorded;
    return result<void>{};
  };
  auto session = gateway->open(std::move(spec));
  if (!session) {
    std::fprintf(stderr, "gateway: %s\n", session.err().detail.c_str());
    return 1;
  }
  std::printf("model gateway, %d calls each, new connection per call (2 cores, loopback stub in python3)\n", calls);
  std::printf("%-8s %-28s %9s %9s\n", "answer", "path", "p50 ms", "p99 ms");
  for (bool stream : {false, true}) {
    std::string body = std::string{R"({"model":"claude-sonnet-4-5","max_tokens":16,"stream":)"} + (stream ? "true" : "false")
                       + R"(,"messages":[{"role":"user","content":"hi"}]})";
    // The floor carries the real key itself; the gateway call a placeholder it replaces.
    auto floor = time_calls(upstream + "/v1/messages", "", "real-key", body, calls);
    auto through = time_calls("http://gateway/anthropic/v1/messages", (*session)->socket_path(),
                              models::placeholder_key, body, calls);
    const char* kind = stream ? "stream" : "json";
    std::printf("%-8s %-28s %9.2f %9.2f\n", kind, "stub direct (floor)", pct(floor, 0.5), pct(floor, 0.99));
    std::printf("%-8s %-28s %9.2f %9.2f   (+%.2f ms at p50, %.2fx)\n", kind, "through the gateway", pct(through, 0.5),
                pct(through, 0.99), pct(through, 0.5) - pct(floor, 0.5), pct(through, 0.5) / pct(floor, 0.5));
  }
  std::printf("calls recorded by the gateway: %d of %d\n", recorded.load(), 2 * calls);
  session->reset();
  ::kill(stub, SIGTERM);
  ::waitpid(stub, nullptr, 0);
  std::filesystem::remove_all(dir);
  return recorded.load() == 2 * calls ? 0 : 1;
}
