#include "adapters/github/webhook_payload.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "events/line_ends.hpp"

namespace aetherium::github {

namespace {

using json = nlohmann::json;

const json& at(const json& j, std::initializer_list<const char*> path) {
  static const json null_value;
  const json* cur = &j;
  for (auto* key : path) {
    if (!cur->is_object())
      return null_value;
    auto it = cur->find(key);
    if (it == cur->end())
      return null_value;
    cur = &*it;
  }
  return *cur;
}

std::string string_at(const json& j, std::initializer_list<const char*> path) {
  auto& v = at(j, path);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

std::int64_t int_at(const json& j, std::initializer_list<const char*> path) {
  auto& v = at(j, path);
  return v.is_number_integer() ? v.get<std::int64_t>() : 0;
}

bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

std::string header_value(const std::map<std::string, std::string>& headers, const std::string& name) {
  if (auto it = headers.find(name); it != headers.end())
    return it->second;
  for (auto& [key, value] : headers)
    if (iequals(key, name))
      return value;
  return {};
}

result<delivery_fields> extract_delivery_fields(const std::map<std::string, std::string>& headers,
                                                const std::string& body) {
  delivery_fields f;
  f.event = header_value(headers, "x-github-event");
  if (f.event.empty())
    return make_error(errc::invalid_argument, "the X-GitHub-Event header is missing", "X-GitHub-Event");
  f.delivery_id = header_value(headers, "x-github-delivery");
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object())
    return make_error(errc::invalid_argument, "the webhook body is not a JSON object", "body");
  f.action = string_at(j, {"action"});
  f.on_pull_request = at(j, {"issue", "pull_request"}).is_object();
  f.number = int_at(j, {"issue", "number"});
  f.repo = string_at(j, {"repository", "full_name"});
  f.comment_body = normalize_line_ends(string_at(j, {"comment", "body"}));
  f.comment_id = int_at(j, {"comment", "id"});
  f.comment_url = string_at(j, {"comment", "html_url"});
  f.author = string_at(j, {"comment", "user", "login"});
  f.author_association = string_at(j, {"comment", "author_association"});
  return f;
}

} // namespace aetherium::github
