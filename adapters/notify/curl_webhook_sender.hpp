#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "events/notifications/webhook_sender.hpp"

namespace aetherium {

struct curl_webhook_options {
  bool allow_private = false;                         ///< --notify-allow-loopback
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{10000};
  std::string user_agent = "aetherium-notifier/1";
};

/// The webhook_sender over libcurl. Names resolve with getaddrinfo (so "2130706433",
/// "0x7f.1" and "[::ffff:127.0.0.1]" are judged as the 127.0.0.1 they are), and the
/// address of every connection is checked in CURLOPT_OPENSOCKETFUNCTION right before it is
/// opened, which defeats DNS rebinding. No redirects, no proxies (environment proxies are
/// ignored), http and https only.
std::shared_ptr<notifications::webhook_sender> make_curl_webhook_sender(curl_webhook_options options = {});

} // namespace aetherium
