// A test-only HTTP server: the real HTTP adapter over the in-memory control plane, one
// admin API key fixed by AETHERIUM_TEST_ADMIN_KEY (tenant "acme"), and a webhook sink that
// checks X-Hub-Signature-256 against AETHERIUM_TEST_WEBHOOK_SECRET. Every task it accepts
// writes one log line and completes at once, so following its log always ends. Prints
// "listening on port N" and serves until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adapters/http/auth/authenticator.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/http/metrics/prometheus_registry.hpp"
#include "events/api/memory_control_plane.hpp"

using namespace aetherium;

namespace {

std::string env(const char* name, std::string fallback) {
  auto* v = std::getenv(name);
  return v && *v ? std::string{v} : fallback;
}

/// Forwards to the in-memory control plane; tasks run to completion as soon as accepted.
class completing_control_plane : public api::control_plane {
public:
  explicit completing_control_plane(std::shared_ptr<api::memory_control_plane> core) : core_(std::move(core)) {}

  void create_project(const api::caller& w, api::create_project_request r, api::reply<api::project_view> d) override {
    core_->create_project(w, std::move(r), std::move(d));
  }
  void get_project(const api::caller& w, const project_id& id, api::reply<api::project_view> d) override {
    core_->get_project(w, id, std::move(d));
  }
  void create_task(const api::caller& w, api::create_task_request r, std::string key,
                   api::reply<api::task_created> d) override {
    core_->create_task(w, std::move(r), std::move(key), [this, d](result<api::task_created> t) {
      if (t && !t->replayed) {
        (void)core_->append_log(t->task.id, "stdout", "done\n");
        (void)core_->set_task_status(t->task.id, api::task_status::completed);
      }
      d(std::move(t));
    });
  }
  void get_task(const api::caller& w, const task_id& id, api::reply<api::task_view> d) override {
    core_->get_task(w, id, std::move(d));
  }
  void list_tasks(const api::caller& w, api::task_filter f, api::reply<api::task_page> d) override {
    core_->list_tasks(w, std::move(f), std::move(d));
  }
  void cancel_task(const api::caller& w, const task_id& id, api::reply<api::task_view> d) override {
    core_->cancel_task(w, id, std::move(d));
  }
  void task_events(const api::caller& w, const task_id& id, api::reply<std::vector<api::event_view>> d) override {
    core_->task_events(w, id, std::move(d));
  }
  void events_after(const api::caller& w, std::int64_t after, std::size_t limit, api::reply<api::event_page> d) override {
    core_->events_after(w, after, limit, std::move(d));
  }
  void list_nodes(const api::caller& w, api::reply<std::vector<api::node_view>> d) override {
    core_->list_nodes(w, std::move(d));
  }
  void read_task_logs(const api::caller& w, const task_id& id, std::uint64_t from, std::size_t max,
                      api::reply<api::log_page> d) override {
    core_->read_task_logs(w, id, from, max, std::move(d));
  }
  std::unique_ptr<subscription> follow_task_logs(const api::caller& w, const task_id& id, std::uint64_t from,
                                                 api::log_follower f) override {
    return core_->follow_task_logs(w, id, from, std::move(f));
  }
  void readiness(api::reply<void> d) override { core_->readiness(std::move(d)); }

private:
  std::shared_ptr<api::memory_control_plane> core_;
};

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
  auto core = api::make_memory_control_plane(clock, ids);
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
  auto sink = std::make_shared<signature_checking_sink>(env("AETHERIUM_TEST_WEBHOOK_SECRET", "test-webhook-secret"));
  auto server = http::make_http_server(options, std::make_shared<completing_control_plane>(core), auth,
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
