// Webhook subscriptions: admin only, scoped to the caller's tenant.
#include <thread>

#include "adapters/http/handlers.hpp"
#include "events/api/validation.hpp"

namespace aetherium::http::handlers {

namespace {

using notifications::subscription_id;

/// The service, or null after answering 503.
std::shared_ptr<notifications::subscription_service> service_of(handler_context& c) {
  auto s = c.services.options.subscriptions;
  if (!s)
    c.ex->reply(error_response(503, "unavailable", "notifications are not configured on this server"));
  return s;
}

/// The subscription of path parameter 0 in the caller's tenant, or null after answering.
std::optional<notifications::subscription_state> found(handler_context& c,
                                                       notifications::subscription_service& service) {
  if (!api::valid_id(c.params[0])) {
    c.ex->reply(error_response(404, "not_found", "no such subscription"));
    return std::nullopt;
  }
  auto s = service.get(c.caller.tenant, subscription_id{c.params[0]});
  if (!s) {
    fail(c, s.err());
    return std::nullopt;
  }
  return std::move(*s);
}

} // namespace

void create_subscription(handler_context& c) {
  auto service = service_of(c);
  if (!service)
    return;
  auto parsed = parse_create_subscription(c.request().body);
  if (!parsed)
    return fail(c, parsed.err());
  // Resolving the url's host may take seconds: not on a reactor thread.
  std::thread{[service, ex = c.ex, tenant = c.caller.tenant, principal = c.caller.principal,
               request = std::move(*parsed)]() mutable {
    auto made = service->create(tenant, principal, std::move(request));
    if (!made)
      return ex->reply(error_response(made.err()));
    auto r = json_response(201, to_json(*made));
    r.headers.emplace_back("Location", "/v1/subscriptions/" + made->id.str());
    ex->reply(std::move(r));
  }}.detach();
}

void list_subscriptions(handler_context& c) {
  auto service = service_of(c);
  if (!service)
    return;
  json out = json::array();
  for (auto& s : service->list(c.caller.tenant))
    out.push_back(to_json(s));
  c.ex->reply(json_response(200, json{{"subscriptions", std::move(out)}}));
}

void get_subscription(handler_context& c) {
  auto service = service_of(c);
  if (!service)
    return;
  if (auto s = found(c, *service))
    c.ex->reply(json_response(200, to_json(*s)));
}

void delete_subscription(handler_context& c) {
  auto service = service_of(c);
  if (!service)
    return;
  if (!api::valid_id(c.params[0]))
    return c.ex->reply(error_response(404, "not_found", "no such subscription"));
  auto removed = service->remove(c.caller.tenant, c.caller.principal, subscription_id{c.params[0]});
  if (!removed)
    return fail(c, removed.err());
  http_response r;
  r.status = 204;
  r.content_type.clear();
  c.ex->reply(std::move(r));
}

void subscription_dead_letters(handler_context& c) {
  auto service = service_of(c);
  if (!service)
    return;
  auto s = found(c, *service);
  if (!s)
    return;
  json out = json::array();
  for (auto& d : s->dead_letters)
    out.push_back(to_json(d));
  c.ex->reply(json_response(200, json{{"dead_letters", std::move(out)}}));
}

} // namespace aetherium::http::handlers
