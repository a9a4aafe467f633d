#include "adapters/notify/curl_webhook_sender.hpp"

#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "events/notifications/address_policy.hpp"
#include "events/notifications/subscription.hpp"

namespace aetherium {

namespace {

using notifications::address_allowed;
using notifications::classify;
using notifications::ip_address;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool to_ip(const sockaddr* sa, ip_address& out) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    out = ip_address{};
    std::memcpy(out.bytes.data(), &in->sin_addr, 4);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    out = ip_address{};
    out.v6 = true;
    std::memcpy(out.bytes.data(), &in6->sin6_addr, 16);
    return true;
  }
  return false;
}

/// What the socket callback saw during one transfer.
struct connect_guard {
  bool allow_private = false;
  std::string refused;   ///< "127.0.0.1 (loopback)" of the last address refused.
  std::string connected; ///< The last address a socket was opened for.
};

curl_socket_t open_checked_socket(void* clientp, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<connect_guard*>(clientp);
  ip_address ip;
  if (!to_ip(&address->addr, ip)) {
    guard->refused = "a non-IP address";
    return CURL_SOCKET_BAD;
  }
  if (!address_allowed(ip, guard->allow_private)) {
    guard->refused = to_string(ip) + " (" + to_string(classify(ip)) + ")";
    return CURL_SOCKET_BAD;
  }
  guard->connected = to_string(ip);
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

struct curl_deleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

/// notifications::webhook_sender
class curl_webhook_sender final : public notifications::webhook_sender {
public:
  explicit curl_webhook_sender(curl_webhook_options o) : options_(std::move(o)) { init_curl_once(); }

  result<void> check_destination(const std::string& url) override {
    auto parsed = notifications::parse_webhook_url(url);
    if (!parsed)
      return parsed.err();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(parsed->host.c_str(), nullptr, &hints, &found);
    if (rc == EAI_AGAIN)
      return make_error(errc::unavailable, "the url's host does not resolve now: " + parsed->host);
    if (rc != 0)
      return make_error(errc::invalid_argument, "the url's host does not resolve: " + parsed->host, "url");
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> list{found, ::freeaddrinfo};
    for (auto* a = found; a; a = a->ai_next) {
      ip_address ip;
      if (!to_ip(a->ai_addr, ip))
        continue;
      if (!address_allowed(ip, options_.allow_private))
        return make_error(errc::invalid_argument,
                          "the url's host resolves to " + to_string(ip) + ", a " + to_string(classify(ip))
                            + " address notifications may not reach (see --notify-allow-loopback)",
                          "url");
    }
    return {};
  }

  result<notifications::webhook_response> post(const notifications::webhook_request& request) override {
    if (auto parsed = notifications::parse_webhook_url(request.url); !parsed)
      return parsed.err();
    std::unique_ptr<CURL, curl_deleter> h{curl_easy_init()};
    if (!h)
      return make_error(errc::unavailable, "libcurl could not make a handle");
    curl_slist* raw = nullptr;
    for (auto& [name, value] : request.headers)
      raw = curl_slist_append(raw, (name + ": " + value).c_str());
    raw = curl_slist_append(raw, "Expect:"); // no 100-continue round trip
    std::unique_ptr<curl_slist, curl_deleter> headers{raw};
    connect_guard guard{options_.allow_private, {}, {}};
    auto* c = h.get();
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); // never through an environment proxy
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
    auto rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      if (!guard.refused.empty() && guard.connected.empty())
        return make_error(errc::invalid_argument,
                          "refused to connect to " + guard.refused + ": notifications may not reach it", "url");
      return make_error(errc::unavailable, std::string{"delivery failed: "} + curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return notifications::webhook_response{static_cast<int>(status), guard.connected};
  }

private:
  curl_webhook_options options_;
};

} // namespace

std::shared_ptr<notifications::webhook_sender> make_curl_webhook_sender(curl_webhook_options options) {
  return std::make_shared<curl_webhook_sender>(std::move(options));
}

} // namespace aetherium
