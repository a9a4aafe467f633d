#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/http/auth/authenticator.hpp"
#include "adapters/http/exchange.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/http/router.hpp"
#include "adapters/http/task_json_cache.hpp"
#include "events/api/rate_limiter.hpp"

namespace aetherium::http {

/// What the handlers use.
struct api_services {
  http_server_options options;
  std::shared_ptr<api::control_plane> core;
  std::shared_ptr<authenticator> auth;
  std::shared_ptr<api::metrics_registry> metrics;
  std::shared_ptr<api::webhook_sink> webhooks;
  std::shared_ptr<task_json_cache> task_views = std::make_shared<task_json_cache>();
};

/// One request on its way through a handler.
struct handler_context {
  std::shared_ptr<exchange> ex;
  std::vector<std::string> params; ///< Decoded path parameters, in template order.
  api::caller caller; ///< Only the correlation id (the request id) for routes without credentials.
  const api_services& services;
  const http_request& request() const { return ex->request(); }
};

/// The route table; `/metrics` needs credentials (viewer) unless `metrics_public`.
std::vector<route> build_route_table(bool metrics_public);

/// Request counts and latencies of one route.
class route_metrics {
public:
  route_metrics(std::shared_ptr<api::metrics_registry> registry, std::string label);
  void record(const std::string& method, int status, std::chrono::steady_clock::duration took);

private:
  std::shared_ptr<api::metrics_registry> registry_;
  std::string label_;
  std::mutex mtx_;
  std::map<std::pair<std::string, int>, std::shared_ptr<api::counter_metric>> counters_;
  std::map<std::string, std::shared_ptr<api::histogram_metric>> latencies_;
};

/// Everything between the server library and the handlers, free of both: routing (404,
/// 405 with Allow), credentials (401), rate limits (429 with Retry-After), roles (403),
/// body size (413), a standby's refusal of writes (503), metrics per route.
class api_dispatcher {
public:
  explicit api_dispatcher(api_services services);

  /// Answers `ex`, now or later, on any thread. Never throws.
  void dispatch(const std::shared_ptr<exchange>& ex);

private:
  void run(const route& r, std::vector<std::string> params, const std::shared_ptr<exchange>& ex,
           const std::string& request_id, const server_role& role);

  api_services services_;
  std::vector<route> table_;
  api::token_bucket_limiter limiter_;
  std::shared_ptr<id_generator> ids_;
  std::vector<std::shared_ptr<route_metrics>> metrics_; ///< One per route, then one for "unmatched".
};

} // namespace aetherium::http
