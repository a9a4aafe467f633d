#pragma once
// Test-only: a webhook_sender that resolves names from a table and answers through a
// function, recording each request. Same contract as the curl sender
// (tests/contract/webhook_sender).

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "events/notifications/address_policy.hpp"
#include "events/notifications/subscription.hpp"
#include "events/notifications/webhook_sender.hpp"

namespace aetherium::testing {

class fake_webhook_sender : public notifications::webhook_sender {
public:
  using responder = std::function<result<notifications::webhook_response>(const notifications::webhook_request&)>;

  explicit fake_webhook_sender(bool allow_private = false) : allow_private_(allow_private) {
    hosts_["127.0.0.1"] = {notifications::ip_address::v4_of(127, 0, 0, 1)};
    hosts_["hooks.example.com"] = {notifications::ip_address::v4_of(93, 184, 216, 34)};
  }

  void resolve(const std::string& host, std::vector<notifications::ip_address> to) {
    std::lock_guard<std::mutex> lock{mtx_};
    hosts_[host] = std::move(to);
  }
  void answer(responder r) {
    std::lock_guard<std::mutex> lock{mtx_};
    respond_ = std::move(r);
  }
  std::vector<notifications::webhook_request> requests() {
    std::lock_guard<std::mutex> lock{mtx_};
    return requests_;
  }

  result<void> check_destination(const std::string& url) override {
    auto where = lookup(url);
    if (!where)
      return where.err();
    return {};
  }

  result<notifications::webhook_response> post(const notifications::webhook_request& request) override {
    auto where = lookup(request.url);
    if (!where)
      return where.err();
    responder r;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      requests_.push_back(request);
      r = respond_;
    }
    if (!r)
      return notifications::webhook_response{204, to_string(*where)};
    return r(request);
  }

private:
  result<notifications::ip_address> lookup(const std::string& url) {
    auto parsed = notifications::parse_webhook_url(url);
    if (!parsed)
      return parsed.err();
    std::lock_guard<std::mutex> lock{mtx_};
    auto it = hosts_.find(parsed->host);
    if (it == hosts_.end() || it->second.empty())
      return make_error(errc::invalid_argument, "the url's host does not resolve", "url");
    for (auto& a : it->second)
      if (!notifications::address_allowed(a, allow_private_))
        return make_error(errc::invalid_argument, "the url's host resolves to " + to_string(a), "url");
    return it->second.front();
  }

  bool allow_private_;
  std::mutex mtx_;
  std::map<std::string, std::vector<notifications::ip_address>> hosts_;
  responder respond_;
  std::vector<notifications::webhook_request> requests_;
};

} // namespace aetherium::testing
