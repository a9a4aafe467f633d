#pragma once

#include <functional>
#include <map>
#include <string>

#include "events/result.hpp"

namespace aetherium::api {

/// One webhook request as received, before anything is trusted.
struct webhook_delivery {
  std::map<std::string, std::string> headers; ///< Lowercase names: "x-github-event", "x-hub-signature-256", …
  std::string body;                           ///< The raw bytes the signature covers.
};

/// Takes GitHub webhook deliveries (POST /v1/webhooks/github). The sink verifies the
/// signature before parsing anything and dedupes by delivery id.
class webhook_sink {
public:
  virtual ~webhook_sink() = default;
  /// Answers once, on any thread. Errors: unauthorized (bad or missing signature),
  /// invalid_argument (unparsable payload), unavailable.
  virtual void deliver(webhook_delivery delivery, std::function<void(result<void>)> done) = 0;
};

} // namespace aetherium::api
