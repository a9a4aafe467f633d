#include "adapters/http/router.hpp"

#include <cstring>

namespace aetherium::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Splits "/a/b/c" into {"a","b","c"}; a trailing '/' yields a final empty segment.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/')
    return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

/// Matches one template against the request's segments, walking the template in place
/// (this runs for every route on every request); fills `params` on success.
bool matches(std::string_view pattern, const std::vector<std::string_view>& parts, std::vector<std::string>& params) {
  if (pattern.empty() || pattern[0] != '/')
    return false;
  pattern.remove_prefix(1);
  params.clear();
  std::size_t i = 0;
  while (true) {
    auto slash = pattern.find('/');
    auto want = pattern.substr(0, slash);
    if (i == parts.size())
      return false;
    if (!want.empty() && want.front() == '{') {
      std::string value;
      if (parts[i].empty() || !percent_decode(parts[i], value, false))
        return false;
      params.push_back(std::move(value));
    } else if (want != parts[i]) {
      return false;
    }
    ++i;
    if (slash == std::string_view::npos)
      break;
    pattern.remove_prefix(slash + 1);
  }
  return i == parts.size();
}

} // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return true;
}

route_match match_route(const std::vector<route>& table, std::string_view method, std::string_view path) {
  route_match m;
  auto parts = segments(path);
  std::vector<std::string> params;
  for (auto& r : table) {
    if (!matches(r.path, parts, params))
      continue;
    if (method == r.method) {
      m.found = &r;
      m.params = std::move(params);
      return m;
    }
    if (m.allow.find(r.method) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + std::string{r.method};
  }
  return m;
}

bool parse_decimal(std::string_view text, std::uint64_t& out) noexcept {
  if (text.empty() || text.size() > 19)
    return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

result<query_params> query_params::parse(std::string_view query, std::initializer_list<const char*> allowed) {
  query_params out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    std::string name, value;
    if (!percent_decode(pair.substr(0, eq), name, true)
        || !percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), value, true))
      return make_error(errc::invalid_argument, "the query string has a bad %-escape", "query");
    bool known = false;
    for (auto* a : allowed)
      known = known || name == a;
    if (!known)
      return make_error(errc::invalid_argument, "unknown query parameter " + name, name);
    if (out.get(name))
      return make_error(errc::invalid_argument, "query parameter " + name + " is repeated", name);
    out.values_.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::optional<std::string> query_params::get(std::string_view name) const {
  for (auto& [k, v] : values_)
    if (k == name)
      return v;
  return std::nullopt;
}

result<std::uint64_t> query_params::number(std::string_view name, std::uint64_t min, std::uint64_t max,
                                           std::uint64_t fallback) const {
  auto text = get(name);
  if (!text)
    return fallback;
  std::uint64_t v = 0;
  if (!parse_decimal(*text, v) || v < min || v > max)
    return make_error(errc::invalid_argument,
                      std::string{name} + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max),
                      std::string{name});
  return v;
}

} // namespace aetherium::http
