// A test-only HTTP server: the real HTTP adapter over the real control plane on in-memory
// ports (tests/support/in_memory_core.hpp), one admin API key fixed by
// AETHERIUM_TEST_ADMIN_KEY (tenant "acme"), and a webhook sink that checks
// X-Hub-Signature-256 against AETHERIUM_TEST_WEBHOOK_SECRET. Every task it accepts writes
// one log line and completes as soon as it is handed to the execution plane, so following
// its log always ends. Prints "listening on port N" and serves until SIGINT or SIGTERM.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adapters/notify/curl_webhook_sender.hpp"
#include "events/notifications/subscription_secrets.hpp"
#include "events/notifications/subscription_service.hpp"
#include "events/notifications/subscription_store.hpp"
#include "adapters/http/auth/authenticator.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/http/metrics/prometheus_registry.hpp"
#include "tests/support/in_memory_core.hpp"

using namespace aetherium;

namespace {

std::string env(const char* name, std::string fallback) {
  auto* v = std::getenv(name);
  return v && *v ? std::string{v} : fallback;
}

/// Accepts deliveries whose X-Hub-Signature-256 is the HMAC-SHA256 of the body.
class signature_checking_sink : public api::webhook_sink {
public:
  explicit signature_checking_sink(std::string secret) : secret_(std::move(secret)) {}

  void deliver(api::webhook_delivery d, std::function<void(result<void>)> done) override {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(d.body.data()), d.body.size(), mac, &n);
    static constexpr char hex[] = "0123456789abcdef";
    std::string expected = "sha256=";
    for (unsigned i = 0; i < n; ++i)
      expected += std::string{hex[mac[i] >> 4], hex[mac[i] & 0xF]};
    auto given = d.headers["x-hub-signature-256"];
    if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0)
      return done(make_error(errc::unauthorized, "the X-Hub-Signature-256 does not match"));
    done({});
  }

private:
  std::string secret_;
};

} // namespace

int main() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto clock = make_system_clock();
  auto ids = make_random_id_generator();
  std::atomic<testing::in_memory_core*> running{nullptr};
  testing::in_memory_core_options core_options;
  core_options.time = clock;
  core_options.on_run = [&running](const task_id& task) {
    auto* core = running.load();
    (void)core->append_log(task, "stdout", "done\n");
    // A cancel may have come first: then the task ends terminated, as the runner ends it.
    if (!core->advance(task, domain::task_status::completed))
      (void)core->advance(task, domain::task_status::terminated);
  };
  testing::in_memory_core core{core_options};
  running = &core;
  auto keys = api::make_memory_api_key_store();
  auto admin_key = env("AETHERIUM_TEST_ADMIN_KEY", "ak_test_admin_key");
  (void)keys->add(api::api_key_record{apikey_id{"test-admin"}, tenant_id{"acme"}, api::role::admin, "test admin",
                                      http::hash_api_key(admin_key), clock->now_us(), false});
  auto auth = http::make_authenticator(http::auth_options{env("AETHERIUM_JWT_SECRET", "")}, keys, clock, ids);

  http::http_server_options options;
  options.host = "127.0.0.1";
  options.port = static_cast<std::uint16_t>(std::stoi(env("AETHERIUM_TEST_PORT", "0")));
  options.rate_per_second = std::stod(env("AETHERIUM_TEST_RATE", "100000"));
  options.rate_burst = options.rate_per_second * 2;
  // Subscriptions over in-memory stores, with the real address guard (loopback allowed,
  // so the fuzzer's URLs reach validation rather than name resolution alone).
  curl_webhook_options guard;
  guard.allow_private = true;
  options.subscriptions = std::make_shared<notifications::subscription_service>(
    notifications::make_memory_subscription_store(), std::make_shared<notifications::memory_subscription_secrets>(),
    make_curl_webhook_sender(guard), clock, ids);
  auto sink = std::make_shared<signature_checking_sink>(env("AETHERIUM_TEST_WEBHOOK_SECRET", "test-webhook-secret"));
  auto server = http::make_http_server(options, core.control(), auth,
                                       http::make_prometheus_registry(), sink);
  if (auto started = server->start(); !started) {
    std::fprintf(stderr, "cannot start: %s\n", started.err().detail.c_str());
    return 1;
  }
  std::printf("listening on port %u\n", static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  server->stop();
  return 0;
}
