#include "adapters/http/api_dispatcher.hpp"

#include <cctype>
#include <string_view>

#include "adapters/http/handlers.hpp"
#include "adapters/http/json_codec.hpp"

namespace aetherium::http {

namespace {

using api::role;

/// Counts and times whatever answer goes through it, and names the request's id and the
/// server's role in it.
class metered_exchange : public exchange {
public:
  metered_exchange(std::shared_ptr<exchange> inner, std::shared_ptr<route_metrics> metrics, std::string request_id,
                   bool leading)
    : inner_(std::move(inner)), metrics_(std::move(metrics)), request_id_(std::move(request_id)),
      role_(leading ? "leader" : "standby"), start_(std::chrono::steady_clock::now()) {}

  const http_request& request() const override { return inner_->request(); }

  void reply(http_response response) override {
    metrics_->record(inner_->request().method, response.status, std::chrono::steady_clock::now() - start_);
    response.headers.emplace_back("X-Request-Id", request_id_);
    response.headers.emplace_back("X-Aetherium-Role", role_);
    inner_->reply(std::move(response));
  }

  std::shared_ptr<event_stream> start_stream(http_response head) override {
    metrics_->record(inner_->request().method, head.status, std::chrono::steady_clock::now() - start_);
    head.headers.emplace_back("X-Request-Id", request_id_);
    head.headers.emplace_back("X-Aetherium-Role", role_);
    return inner_->start_stream(std::move(head));
  }

  void defer(std::function<void()> fn) override { inner_->defer(std::move(fn)); }

private:
  std::shared_ptr<exchange> inner_;
  std::shared_ptr<route_metrics> metrics_;
  std::string request_id_;
  const char* role_;
  std::chrono::steady_clock::time_point start_;
};

std::shared_ptr<clock> time_source(const http_server_options& o) { return o.time ? o.time : make_system_clock(); }

/// A client's X-Request-Id is taken when it is 1 to 128 characters of [A-Za-z0-9._:-]:
/// it goes into event metadata and log lines, so nothing else is let in.
bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' && c != '-')
      return false;
  return true;
}

/// Whether `req` would change something: any method but GET and HEAD under /v1/.
bool is_write(const http_request& req) {
  return req.method != "GET" && req.method != "HEAD" && req.path.rfind("/v1/", 0) == 0;
}

/// A standby's answer to a write: the client retries in a second, here (once this server
/// leads) or at the leader.
http_response refused_by_standby(const server_role& role) {
  auto leader = role.leader.empty() ? std::string{"another server (its name is not known yet)"} : role.leader;
  json body{{"code", "standby"},
            {"message", "this server is a standby and takes no writes; the leader is " + leader
                          + ": send writes there, or retry"}};
  if (!role.leader.empty())
    body["leader"] = role.leader;
  auto r = json_response(503, body);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

} // namespace

std::vector<route> build_route_table(bool metrics_public) {
  namespace h = handlers;
  std::optional<role> metrics_role;
  if (!metrics_public)
    metrics_role = role::viewer;
  return {
    {"POST", "/v1/projects", "/v1/projects", role::operator_, h::create_project},
    {"GET", "/v1/projects/{id}", "/v1/projects/{id}", role::viewer, h::get_project},
    {"POST", "/v1/tasks", "/v1/tasks", role::operator_, h::create_task},
    {"GET", "/v1/tasks", "/v1/tasks", role::viewer, h::list_tasks},
    {"GET", "/v1/tasks/{id}", "/v1/tasks/{id}", role::viewer, h::get_task},
    {"DELETE", "/v1/tasks/{id}", "/v1/tasks/{id}", role::operator_, h::cancel_task},
    {"GET", "/v1/tasks/{id}/logs", "/v1/tasks/{id}/logs", role::viewer, h::task_logs},
    {"GET", "/v1/tasks/{id}/events", "/v1/tasks/{id}/events", role::viewer, h::task_events},
    {"GET", "/v1/events", "/v1/events", role::viewer, h::events_after},
    {"GET", "/v1/nodes", "/v1/nodes", role::viewer, h::list_nodes},
    {"POST", "/v1/nodes/{id}/drain", "/v1/nodes/{id}/drain", role::admin, h::drain_node},
    {"POST", "/v1/nodes/{id}/undrain", "/v1/nodes/{id}/undrain", role::admin, h::undrain_node},
    {"DELETE", "/v1/nodes/{id}", "/v1/nodes/{id}", role::admin, h::remove_node},
    {"POST", "/v1/api-keys", "/v1/api-keys", role::admin, h::create_api_key},
    {"GET", "/v1/api-keys", "/v1/api-keys", role::admin, h::list_api_keys},
    {"DELETE", "/v1/api-keys/{id}", "/v1/api-keys/{id}", role::admin, h::revoke_api_key},
    {"POST", "/v1/subscriptions", "/v1/subscriptions", role::admin, h::create_subscription},
    {"GET", "/v1/subscriptions", "/v1/subscriptions", role::admin, h::list_subscriptions},
    {"GET", "/v1/subscriptions/{id}", "/v1/subscriptions/{id}", role::admin, h::get_subscription},
    {"DELETE", "/v1/subscriptions/{id}", "/v1/subscriptions/{id}", role::admin, h::delete_subscription},
    {"GET", "/v1/subscriptions/{id}/dead-letters", "/v1/subscriptions/{id}/dead-letters", role::admin,
     h::subscription_dead_letters},
    {"POST", "/v1/webhooks/github", "/v1/webhooks/github", std::nullopt, h::github_webhook},
    {"GET", "/healthz", "/healthz", std::nullopt, h::healthz},
    {"GET", "/readyz", "/readyz", std::nullopt, h::readyz},
    {"GET", "/metrics", "/metrics", metrics_role, h::metrics},
  };
}

std::vector<route_info> http_routes() {
  std::vector<route_info> out;
  for (auto& r : build_route_table(true))
    out.push_back({r.method, r.path});
  return out;
}

route_metrics::route_metrics(std::shared_ptr<api::metrics_registry> registry, std::string label)
  : registry_(std::move(registry)), label_(std::move(label)) {}

void route_metrics::record(const std::string& method, int status, std::chrono::steady_clock::duration took) {
  std::shared_ptr<api::counter_metric> count;
  std::shared_ptr<api::histogram_metric> latency;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& c = counters_[{method, status}];
    if (!c)
      c = registry_->get_counter(api::metric_names::http_requests, "HTTP requests answered.",
                                {{"route", label_}, {"method", method}, {"status", std::to_string(status)}});
    auto& h = latencies_[method];
    if (!h)
      h = registry_->get_histogram(api::metric_names::http_seconds, "Time to the response head, in seconds.",
                                  {{"route", label_}, {"method", method}});
    count = c;
    latency = h;
  }
  count->inc();
  latency->observe(std::chrono::duration<double>(took).count());
}

api_dispatcher::api_dispatcher(api_services services)
  : services_(std::move(services)), table_(build_route_table(services_.options.metrics_public)),
    limiter_(services_.options.rate_per_second, services_.options.rate_burst, time_source(services_.options)),
    ids_(services_.options.ids ? services_.options.ids : make_random_id_generator()) {
  for (auto& r : table_)
    metrics_.push_back(std::make_shared<route_metrics>(services_.metrics, r.label));
  metrics_.push_back(std::make_shared<route_metrics>(services_.metrics, "unmatched"));
}

void api_dispatcher::dispatch(const std::shared_ptr<exchange>& raw) {
  auto& req = raw->request();
  auto m = match_route(table_, req.method, req.path);
  auto index = m.found ? static_cast<std::size_t>(m.found - table_.data()) : table_.size();
  auto given = req.header("x-request-id");
  auto request_id = valid_request_id(given) ? std::string{given} : ids_->next_uuid();
  auto role = services_.options.role ? services_.options.role() : server_role{};
  auto ex = std::make_shared<metered_exchange>(raw, metrics_[index], request_id, role.leading);
  if (!m.found && !m.allow.empty()) {
    auto r = error_response(405, "method_not_allowed", req.method + " is not allowed here");
    r.headers.emplace_back("Allow", m.allow);
    return ex->reply(std::move(r));
  }
  if (!m.found)
    return ex->reply(error_response(404, "not_found", "no such route"));
  try {
    run(*m.found, std::move(m.params), ex, request_id, role);
  } catch (const std::exception& e) {
    ex->reply(error_response(500, "internal", std::string{"the request failed: "} + e.what()));
  }
}

void api_dispatcher::run(const route& r, std::vector<std::string> params, const std::shared_ptr<exchange>& ex,
                         const std::string& request_id, const server_role& role) {
  auto& req = ex->request();
  handler_context ctx{ex, std::move(params), {}, services_};
  if (r.role) {
    auto who = services_.auth->authenticate(req.header("authorization"));
    if (!who)
      return ex->reply(error_response(who.err()));
    auto admitted = limiter_.admit(who->rate_key);
    if (!admitted.admitted) {
      auto resp = error_response(429, "rate_limited", "too many requests for these credentials; retry later");
      resp.headers.emplace_back("Retry-After", std::to_string(admitted.retry_after_seconds));
      return ex->reply(std::move(resp));
    }
    if (!api::role_allows(who->caller.role, *r.role))
      return ex->reply(error_response(403, "forbidden", std::string{"this needs the "} + api::to_string(*r.role)
                                                          + " role; the credentials have " + api::to_string(who->caller.role)));
    ctx.caller = std::move(who->caller);
  }
  if (!role.leading && is_write(req))
    return ex->reply(refused_by_standby(role));
  ctx.caller.correlation_id = request_id;
  if (req.body.size() > services_.options.max_body_bytes)
    return ex->reply(error_response(413, "payload_too_large",
                                    "the body is larger than " + std::to_string(services_.options.max_body_bytes) + " bytes"));
  r.handler(ctx);
}

} // namespace aetherium::http
