#include "events/notifications/delivery.hpp"

#include "events/event_publisher.hpp"
#include "events/github/hmac_sha256.hpp"

namespace aetherium::notifications {

bool filter_matches(const std::vector<std::string>& filters, std::string_view type) noexcept {
  for (auto& f : filters) {
    if (f == "*" || f == type)
      return true;
    if (f.size() >= 2 && f.compare(f.size() - 2, 2, ".*") == 0) {
      auto prefix = std::string_view{f}.substr(0, f.size() - 1); // keeps the '.'
      if (type.size() > prefix.size() && type.substr(0, prefix.size()) == prefix)
        return true;
    }
  }
  return false;
}

bool should_deliver(const subscription_state& s, const recorded_event& e) noexcept {
  return s.exists && !s.deleted && !s.tenant.empty() && e.metadata.tenant == s.tenant.str()
         && stream_category(e.stream) != "subscription" && filter_matches(s.events, e.type);
}

std::string signature_header(std::string_view secret, std::string_view body) {
  return "sha256=" + github::hmac_sha256_hex(secret, body);
}

std::string delivery_id(const subscription_id& sub, const event_id& event) {
  return sub.str() + "." + event.str();
}

outgoing_notification build_notification(const subscription_state& s, std::string_view secret,
                                         const recorded_event& e) {
  outgoing_notification out;
  out.body = event_envelope_json(e);
  out.headers = {{"Content-Type", "application/json"},
                 {headers::signature, signature_header(secret, out.body)},
                 {headers::event, e.type},
                 {headers::delivery, delivery_id(s.id, e.id)}};
  return out;
}

std::chrono::milliseconds delay_before(const retry_policy& p, std::uint32_t attempt) noexcept {
  if (attempt <= 1)
    return std::chrono::milliseconds{0};
  auto delay = p.first_delay;
  for (std::uint32_t i = 2; i < attempt && delay < p.max_delay; ++i)
    delay *= 2;
  return std::min(delay, p.max_delay);
}

} // namespace aetherium::notifications
