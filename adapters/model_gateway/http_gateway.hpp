#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "events/models/model_gateway.hpp"
#include "events/models/model_usage.hpp"

namespace aetherium::model_gateway {

/// Where each provider's API is: the public APIs over TLS.
std::map<std::string, std::string> default_upstreams();

/// Parses "NAME=URL,NAME=URL" (AETHERIUM_MODEL_UPSTREAMS, or one --model-upstream value)
/// into `into`. URLs are http:// or https:// without a trailing slash. Errors:
/// invalid_argument naming the bad entry (unknown provider, not a URL).
result<void> parse_upstreams(std::string_view text, std::map<std::string, std::string>& into);

struct gateway_options {
  std::string socket_dir; ///< One socket per agent run is made here (created 0700).
  std::map<std::string, std::string> upstreams = default_upstreams();
  models::price_table prices = models::default_price_table();
  std::size_t max_request_bytes = 32u << 20;
  std::size_t max_connections = 16; ///< Per run: more wait for one to end.
};

/// The gateway over HTTP/1.1 on a UNIX socket per agent run; upstream calls over libcurl
/// with TLS verification. Paths are /<provider>/<the provider's own path>.
std::shared_ptr<models::model_gateway> make_http_model_gateway(gateway_options options);

} // namespace aetherium::model_gateway
