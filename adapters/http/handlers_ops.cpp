// Health, readiness, metrics, the GitHub webhook and API keys.
#include "adapters/http/handlers.hpp"
#include "events/api/validation.hpp"

namespace aetherium::http::handlers {

void healthz(handler_context& c) { c.ex->reply(json_response(200, json{{"status", "ok"}})); }

/// Ready once the log answers, on a standby too (it serves reads); the body says which role.
void readyz(handler_context& c) {
  auto& role = c.services.options.role;
  bool leading = !role || role().leading;
  c.services.core->readiness([ex = c.ex, leading](result<void> ready) {
    if (!ready)
      return ex->reply(error_response(503, "unavailable", ready.err().detail));
    ex->reply(json_response(200, json{{"status", "ready"}, {"role", leading ? "leader" : "standby"}}));
  });
}

void metrics(handler_context& c) {
  http_response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = c.services.metrics->render();
  c.ex->reply(std::move(r));
}

void github_webhook(handler_context& c) {
  if (!c.services.webhooks)
    return c.ex->reply(error_response(503, "unavailable", "GitHub webhooks are not configured on this server"));
  api::webhook_delivery delivery;
  for (auto& [name, value] : c.request().headers)
    delivery.headers[name] = value;
  delivery.body = c.request().body;
  c.services.webhooks->deliver(std::move(delivery), [ex = c.ex](result<void> r) {
    if (!r)
      return ex->reply(error_response(r.err()));
    ex->reply(json_response(202, json{{"status", "accepted"}}));
  });
}

void create_api_key(handler_context& c) {
  auto parsed = parse_create_key(c.request().body);
  if (!parsed)
    return fail(c, parsed.err());
  auto issued = c.services.auth->create_key(c.caller.tenant, parsed->role, parsed->name);
  if (!issued)
    return fail(c, issued.err());
  auto body = to_json(issued->record);
  body["key"] = issued->key;
  auto r = json_response(201, body);
  r.headers.emplace_back("Location", "/v1/api-keys/" + issued->record.id.str());
  r.headers.emplace_back("Cache-Control", "no-store");
  c.ex->reply(std::move(r));
}

void list_api_keys(handler_context& c) {
  json out = json::array();
  for (auto& k : c.services.auth->list_keys(c.caller.tenant))
    out.push_back(to_json(k));
  c.ex->reply(json_response(200, json{{"api_keys", std::move(out)}}));
}

void revoke_api_key(handler_context& c) {
  if (!api::valid_id(c.params[0]))
    return c.ex->reply(error_response(404, "not_found", "no such API key"));
  if (c.caller.principal == "key:" + c.params[0])
    return fail(c, make_error(errc::conflict, "a key cannot revoke itself; use another admin key"));
  auto revoked = c.services.auth->revoke_key(c.caller.tenant, apikey_id{c.params[0]});
  if (!revoked)
    return fail(c, revoked.err());
  http_response r;
  r.status = 204;
  r.content_type.clear();
  c.ex->reply(std::move(r));
}

} // namespace aetherium::http::handlers
