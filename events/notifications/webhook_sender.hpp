#pragma once

#include <string>
#include <utility>
#include <vector>

#include "events/result.hpp"

namespace aetherium::notifications {

/// One POST of a notification.
struct webhook_request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// What the receiver answered.
struct webhook_response {
  int status = 0;
  std::string address; ///< The address actually connected to ("127.0.0.1"), for logs.
};

/// Sends notifications over HTTP(S) and guards where they may go (SSRF).
///
/// Only http and https; redirects are never followed (a 3xx is an answer like any other);
/// connect and total timeouts bound every call. An address is allowed as
/// address_allowed(address, allow_private) says, where `allow_private` is fixed when the
/// sender is made. Calls block: never call them on CAF's shared scheduler. Thread-safe.
class webhook_sender {
public:
  virtual ~webhook_sender() = default;

  /// Resolves the host of `url` and checks every address it resolves to.
  /// Errors: invalid_argument, field "url" (a malformed URL, or an address not allowed:
  /// the detail names it), unavailable (the name does not resolve now).
  virtual result<void> check_destination(const std::string& url) = 0;

  /// POSTs `request`, connecting only to an allowed address: the check is made on the
  /// address the connection really goes to, so a name that resolves differently now
  /// (DNS rebinding) is caught. Any HTTP answer is a response, whatever its status.
  /// Errors: invalid_argument (a malformed URL or no allowed address: do not expect a
  /// retry to help much), unavailable (resolution, connection, TLS or timeout failures).
  virtual result<webhook_response> post(const webhook_request& request) = 0;
};

} // namespace aetherium::notifications
