#pragma once

#include <memory>
#include <string>
#include <vector>

#include "events/clock.hpp"
#include "events/notifications/subscription_secrets.hpp"
#include "events/notifications/subscription_store.hpp"
#include "events/notifications/webhook_sender.hpp"

namespace aetherium::notifications {

/// What a caller asks for when subscribing.
struct subscription_request {
  std::string url;
  std::string secret;
  std::vector<std::string> events;
};

/// The commands and queries of the subscriptions API, for one tenant at a time: a
/// subscription of another tenant is not_found, exactly like one that does not exist.
/// Calls block (the store appends, the guard resolves names): call them off CAF's shared
/// scheduler. Thread-safe.
class subscription_service {
public:
  /// None may be null.
  subscription_service(std::shared_ptr<subscription_store> store, std::shared_ptr<subscription_secrets> secrets,
                       std::shared_ptr<webhook_sender> guard, std::shared_ptr<clock> time,
                       std::shared_ptr<id_generator> ids);

  /// Validates `request` (url, events, secret, then the url's addresses through the
  /// guard), keeps the secret in the secrets port and records `subscription.created`.
  /// Errors: invalid_argument naming the field ("url", "events", "secret"), unavailable.
  result<subscription_state> create(const tenant_id& tenant, const std::string& principal,
                                    subscription_request request);

  /// The live subscriptions of `tenant`, oldest first.
  std::vector<subscription_state> list(const tenant_id& tenant);

  /// Errors: not_found (none, deleted, or another tenant's).
  result<subscription_state> get(const tenant_id& tenant, const subscription_id& id);

  /// Records `subscription.deleted` and forgets the secret. Errors: not_found, unavailable.
  result<void> remove(const tenant_id& tenant, const std::string& principal, const subscription_id& id);

  /// Records that `letter` could not be delivered to `id` (nothing once it is deleted).
  /// Errors: not_found, unavailable.
  result<void> record_dead_letter(const subscription_id& id, subscription_delivery_dead_lettered letter);

private:
  result<void> apply(const subscription_state& s, const subscription_command& c, const std::string& principal);

  std::shared_ptr<subscription_store> store_;
  std::shared_ptr<subscription_secrets> secrets_;
  std::shared_ptr<webhook_sender> guard_;
  std::shared_ptr<clock> time_;
  std::shared_ptr<id_generator> ids_;
};

} // namespace aetherium::notifications
