#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/api/control_plane.hpp"
#include "events/api/metrics.hpp"
#include "events/api/validation.hpp"
#include "events/api/webhook_sink.hpp"
#include "events/clock.hpp"
#include "events/notifications/subscription_service.hpp"
#include "events/result.hpp"

namespace aetherium::http {

class authenticator;

/// This server's part against its database. The leader takes writes; a standby serves
/// reads and answers every write under /v1/ (any method but GET and HEAD, webhooks too)
/// 503 with Retry-After: 1, naming the leader.
struct server_role {
  bool leading = true;
  std::string leader; ///< Who leads when this server does not, as the leader names itself; "" when unknown.
};

/// How the HTTP API listens and how much it tolerates.
struct http_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;               ///< 0: the OS picks one; port() tells which.
  std::size_t io_threads = 2;              ///< Threads running the reactor.
  std::size_t max_body_bytes = 1 << 20;    ///< Larger bodies are answered 413.
  std::size_t hard_body_bytes = 8 << 20;   ///< Larger bodies close the connection unanswered.
  double rate_per_second = 20;             ///< Token-bucket refill per API key / JWT subject.
  double rate_burst = 40;                  ///< Token-bucket size.
  std::int64_t quota_retry_after_seconds = 30; ///< Retry-After of a tenant quota refusal.
  std::chrono::milliseconds answer_deadline{30000};  ///< No answer from the core by then: 503.
  std::chrono::milliseconds sse_heartbeat{15000};    ///< Comment line sent on idle event streams.
  std::size_t sse_max_pending_bytes = 4 << 20; ///< A client further behind loses its stream.
  bool metrics_public = true;              ///< /metrics without credentials.
  /// Refuses (400, field "repo") a project or task naming a repository the server's policy
  /// does not allow for the caller's tenant, instead of accepting it to fail when a task
  /// runs. Empty: not checked.
  api::repository_check check_repository;
  std::shared_ptr<clock> time;             ///< For rate limits; null = the system clock.
  /// Request ids for requests that bring no valid X-Request-Id; null = random UUIDs.
  std::shared_ptr<id_generator> ids;
  /// Webhook subscriptions (/v1/subscriptions); null: those routes answer 503.
  std::shared_ptr<notifications::subscription_service> subscriptions;
  /// Asked on every request (any thread, so it must be cheap and thread-safe); the answer
  /// also goes out in the header X-Aetherium-Role (leader|standby). Empty: always leading.
  std::function<server_role()> role;
};

/// One route of the API: method and path template ("/v1/tasks/{id}").
struct route_info {
  std::string method;
  std::string path;
};

/// Every route the server answers, in the order the server matches them.
std::vector<route_info> http_routes();

/// The JSON HTTP API of the control plane (DESIGN.md, HTTP API).
class http_server {
public:
  virtual ~http_server() = default;
  /// Binds and starts serving. Errors: unavailable (address in use, …), invalid_argument.
  virtual result<void> start() = 0;
  /// Stops accepting, ends live event streams, and waits for the reactor threads.
  /// Idempotent; the destructor calls it.
  virtual void stop() = 0;
  /// The bound port once started.
  virtual std::uint16_t port() const = 0;
};

/// Builds the server. `webhooks` may be null: POST /v1/webhooks/github then answers 503.
std::unique_ptr<http_server> make_http_server(http_server_options options,
                                              std::shared_ptr<api::control_plane> control_plane,
                                              std::shared_ptr<authenticator> auth,
                                              std::shared_ptr<api::metrics_registry> metrics,
                                              std::shared_ptr<api::webhook_sink> webhooks = nullptr);

/// Whether `host:port` can be listened on now (port 0 always can): binds it once and lets
/// it go, so a server fails at once on a busy port, before it starts anything else.
/// Errors: unavailable, naming the address and why.
result<void> check_can_listen(const std::string& host, std::uint16_t port);

} // namespace aetherium::http
