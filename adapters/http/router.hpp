#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/api/api_types.hpp"
#include "events/result.hpp"

namespace aetherium::http {

struct handler_context;
using route_handler = void (*)(handler_context&);

/// One entry of the route table.
struct route {
  const char* method;
  const char* path;              ///< Template: literal segments and "{name}" parameters.
  const char* label;             ///< The route as metrics name it (the template).
  std::optional<api::role> role; ///< The least role allowed; nullopt: no credentials needed.
  route_handler handler;
};

/// What matching a request against the table found.
struct route_match {
  const route* found = nullptr;    ///< Null: no route for this method and path.
  std::vector<std::string> params; ///< Percent-decoded values of the "{name}" segments.
  std::string allow;               ///< When the path exists for other methods: "GET, DELETE".
};

/// Finds the route of `method` and `path` (percent-encoded). A path whose parameters do
/// not decode matches nothing.
route_match match_route(const std::vector<route>& table, std::string_view method, std::string_view path);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`). False on a bad escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

/// The parameters of a query string, decoded. Errors: invalid_argument on a bad escape,
/// a repeated or an unknown parameter (anything not in `allowed`).
class query_params {
public:
  static result<query_params> parse(std::string_view query, std::initializer_list<const char*> allowed);

  /// The value of `name`, if given.
  std::optional<std::string> get(std::string_view name) const;

  /// An unsigned integer parameter within [min, max]; `fallback` when absent.
  /// Errors: invalid_argument naming the parameter.
  result<std::uint64_t> number(std::string_view name, std::uint64_t min, std::uint64_t max,
                               std::uint64_t fallback) const;

private:
  std::vector<std::pair<std::string, std::string>> values_;
};

/// Parses decimal digits only (no sign, no spaces) into `out`; false on overflow or junk.
bool parse_decimal(std::string_view text, std::uint64_t& out) noexcept;

} // namespace aetherium::http
