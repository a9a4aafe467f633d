#include "events/notifications/subscription.hpp"

#include <algorithm>

namespace aetherium::notifications {

namespace {

using events = std::vector<subscription_event>;

result<events> decide_create(const subscription_state& s, const create_subscription& c) {
  if (s.exists)
    return make_error(errc::conflict, "subscription " + c.id.str() + " exists already");
  if (c.id.empty() || c.tenant.empty())
    return make_error(errc::invalid_argument, "a subscription needs an id and a tenant", "id");
  if (auto url = parse_webhook_url(c.url); !url)
    return url.err();
  if (auto ok = validate_filters(c.events); !ok)
    return ok.err();
  return events{subscription_created{c.id, c.tenant, c.url, c.events, c.now_us}};
}

bool filter_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

bool valid_filter(const std::string& f) {
  if (f == "*")
    return true;
  if (f.empty() || f.size() > limits::filter_chars)
    return false;
  auto body = f;
  if (f.size() > 2 && f.compare(f.size() - 2, 2, ".*") == 0)
    body = f.substr(0, f.size() - 2);
  return !body.empty() && body.front() != '.' && body.back() != '.' && std::all_of(body.begin(), body.end(), filter_char);
}

result<std::uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return make_error(errc::invalid_argument, "the url's port must be a number from 1 to 65535", "url");
  auto port = std::stoul(std::string{digits});
  if (port == 0 || port > 65535)
    return make_error(errc::invalid_argument, "the url's port must be a number from 1 to 65535", "url");
  return static_cast<std::uint16_t>(port);
}

} // namespace

const char* type_name(const subscription_event& e) noexcept {
  return std::visit([](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; }, e);
}

result<parsed_url> parse_webhook_url(std::string_view url) {
  auto bad = [](const std::string& why) { return make_error(errc::invalid_argument, why, "url"); };
  if (url.empty() || url.size() > limits::url_chars)
    return bad("url must hold 1 to " + std::to_string(limits::url_chars) + " characters");
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f)
      return bad("url must be printable ASCII without spaces");
  parsed_url out;
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return bad("url must start with http:// or https://");
  for (char c : url.substr(0, sep))
    out.scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (out.scheme != "http" && out.scheme != "https")
    return bad("url must start with http:// or https://");
  auto rest = url.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return bad("url must not carry user information");
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad("url has an unclosed IPv6 literal");
    out.host = std::string{authority.substr(1, close - 1)};
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return bad("url has junk after its IPv6 literal");
    has_port = !after.empty();
    if (has_port)
      port = after.substr(1);
    if (out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad("url has a bad IPv6 literal");
  } else {
    auto colon = authority.find(':');
    out.host = std::string{authority.substr(0, colon)};
    has_port = colon != std::string_view::npos;
    if (has_port)
      port = authority.substr(colon + 1);
    for (char c : out.host)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
        return bad("url has a bad host name");
  }
  if (out.host.empty())
    return bad("url must name a host");
  out.port = out.scheme == "https" ? 443 : 80;
  if (has_port) {
    auto p = parse_port(port);
    if (!p)
      return p.err();
    out.port = *p;
  }
  return out;
}

result<void> validate_filters(const std::vector<std::string>& filters) {
  if (filters.empty() || filters.size() > limits::filters)
    return make_error(errc::invalid_argument,
                      "events must list 1 to " + std::to_string(limits::filters) + " event types", "events");
  for (auto& f : filters)
    if (!valid_filter(f))
      return make_error(errc::invalid_argument,
                        "events: \"" + f.substr(0, 64) + "\" is not \"*\", an event type or \"<prefix>.*\"", "events");
  return {};
}

result<void> validate_secret(std::string_view secret) {
  if (secret.empty() || secret.size() > limits::secret_bytes)
    return make_error(errc::invalid_argument,
                      "secret must hold 1 to " + std::to_string(limits::secret_bytes) + " bytes", "secret");
  return {};
}

result<std::vector<subscription_event>> subscription::decide(const state& s, const command& c) {
  if (auto* create = std::get_if<create_subscription>(&c))
    return decide_create(s, *create);
  if (!s.exists || (s.deleted && std::holds_alternative<delete_subscription>(c)))
    return make_error(errc::not_found, "no such subscription");
  if (auto* del = std::get_if<delete_subscription>(&c))
    return events{subscription_deleted{del->now_us}};
  if (s.deleted)
    return events{};
  return events{std::get<record_dead_letter>(c).letter};
}

subscription_state subscription::evolve(state s, const event& e) {
  if (auto* created = std::get_if<subscription_created>(&e)) {
    s.exists = true;
    s.id = created->id;
    s.tenant = created->tenant;
    s.url = created->url;
    s.events = created->events;
    s.created_at_us = created->at_us;
  } else if (std::holds_alternative<subscription_deleted>(e)) {
    s.deleted = true;
  } else {
    s.dead_letters.push_back(std::get<subscription_delivery_dead_lettered>(e));
    if (s.dead_letters.size() > limits::dead_letters_kept)
      s.dead_letters.erase(s.dead_letters.begin());
  }
  return s;
}

} // namespace aetherium::notifications
