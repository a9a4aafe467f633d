#include "events/notifications/subscription_service.hpp"

namespace aetherium::notifications {

namespace {
constexpr const char* worker_principal = "notifier";
constexpr int conflict_retries = 5;
} // namespace

subscription_service::subscription_service(std::shared_ptr<subscription_store> store,
                                           std::shared_ptr<subscription_secrets> secrets,
                                           std::shared_ptr<webhook_sender> guard, std::shared_ptr<clock> time,
                                           std::shared_ptr<id_generator> ids)
  : store_(std::move(store)), secrets_(std::move(secrets)), guard_(std::move(guard)), time_(std::move(time)),
    ids_(std::move(ids)) {}

result<void> subscription_service::apply(const subscription_state& s, const subscription_command& c,
                                         const std::string& principal) {
  auto events = subscription::decide(s, c);
  if (!events)
    return events.err();
  if (events->empty())
    return {};
  return store_->record(s.id, s.tenant, principal, *events, s.version);
}

result<subscription_state> subscription_service::create(const tenant_id& tenant, const std::string& principal,
                                                        subscription_request request) {
  if (auto url = parse_webhook_url(request.url); !url)
    return url.err();
  if (auto ok = validate_filters(request.events); !ok)
    return ok.err();
  if (auto ok = validate_secret(request.secret); !ok)
    return ok.err();
  if (auto ok = guard_->check_destination(request.url); !ok)
    return ok.err();
  subscription_id id{ids_->next_uuid()};
  // The secret first: a subscription the worker sees always has its secret. A crash
  // between the two leaves an unused secret behind, never a subscription without one.
  if (auto ok = secrets_->put(tenant, id, request.secret); !ok)
    return ok.err();
  create_subscription c{id, tenant, std::move(request.url), std::move(request.events), time_->now_us()};
  subscription_state fresh;
  fresh.id = id;
  fresh.tenant = tenant;
  if (auto ok = apply(fresh, c, principal); !ok) {
    (void)secrets_->erase(tenant, id);
    return ok.err();
  }
  return store_->load(id);
}

std::vector<subscription_state> subscription_service::list(const tenant_id& tenant) {
  std::vector<subscription_state> out;
  for (auto& s : store_->all())
    if (s.tenant == tenant && !s.deleted)
      out.push_back(std::move(s));
  return out;
}

result<subscription_state> subscription_service::get(const tenant_id& tenant, const subscription_id& id) {
  auto s = store_->load(id);
  if (!s)
    return s.err();
  if (!s->exists || s->deleted || s->tenant != tenant)
    return make_error(errc::not_found, "no such subscription");
  return s;
}

result<void> subscription_service::remove(const tenant_id& tenant, const std::string& principal,
                                          const subscription_id& id) {
  for (int attempt = 0;; ++attempt) {
    auto s = get(tenant, id);
    if (!s)
      return s.err();
    auto ok = apply(*s, delete_subscription{time_->now_us()}, principal);
    if (!ok && ok.err().code == errc::conflict && attempt < conflict_retries)
      continue; // a dead letter was recorded meanwhile
    if (!ok)
      return ok;
    return secrets_->erase(tenant, id);
  }
}

result<void> subscription_service::record_dead_letter(const subscription_id& id,
                                                      subscription_delivery_dead_lettered letter) {
  letter.at_us = time_->now_us();
  for (int attempt = 0;; ++attempt) {
    auto s = store_->load(id);
    if (!s)
      return s.err();
    auto ok = apply(*s, notifications::record_dead_letter{letter}, worker_principal);
    if (!ok && ok.err().code == errc::conflict && attempt < conflict_retries)
      continue;
    return ok;
  }
}

} // namespace aetherium::notifications
