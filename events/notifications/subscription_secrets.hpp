#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "events/ids.hpp"
#include "events/notifications/subscription.hpp"
#include "events/result.hpp"

namespace aetherium::notifications {

/// Where subscription signing secrets are kept, apart from the event log (which the audit
/// feed, replay and the Kafka relay all expose). Implementations may block; thread-safe.
class subscription_secrets {
public:
  virtual ~subscription_secrets() = default;
  /// Stores (or replaces) the secret of `id`; durable on return. Errors: unavailable,
  /// invalid_argument (an id or tenant that is not one plain name).
  virtual result<void> put(const tenant_id& tenant, const subscription_id& id, const std::string& secret) = 0;
  /// Errors: not_found (none stored), unavailable.
  virtual result<std::string> get(const tenant_id& tenant, const subscription_id& id) = 0;
  /// Forgets the secret; erasing a missing one is fine. Errors: unavailable.
  virtual result<void> erase(const tenant_id& tenant, const subscription_id& id) = 0;
};

/// Secrets in memory, for tests.
class memory_subscription_secrets : public subscription_secrets {
public:
  result<void> put(const tenant_id& tenant, const subscription_id& id, const std::string& secret) override {
    std::lock_guard<std::mutex> lock(mtx_);
    values_[{tenant.str(), id.str()}] = secret;
    return {};
  }
  result<std::string> get(const tenant_id& tenant, const subscription_id& id) override {
    std::lock_guard<std::mutex> lock(mtx_);
    auto it = values_.find({tenant.str(), id.str()});
    if (it == values_.end())
      return make_error(errc::not_found, "no secret for subscription " + id.str());
    return it->second;
  }
  result<void> erase(const tenant_id& tenant, const subscription_id& id) override {
    std::lock_guard<std::mutex> lock(mtx_);
    values_.erase({tenant.str(), id.str()});
    return {};
  }

private:
  std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, std::string> values_;
};

} // namespace aetherium::notifications
