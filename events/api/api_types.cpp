#include "events/api/api_types.hpp"

namespace aetherium::api {

const char* to_string(role r) noexcept {
  switch (r) {
    case role::viewer: return "viewer";
    case role::operator_: return "operator";
    case role::admin: return "admin";
  }
  return "viewer";
}

bool parse_role(std::string_view name, role& out) noexcept {
  for (auto r : {role::viewer, role::operator_, role::admin}) {
    if (name == to_string(r)) {
      out = r;
      return true;
    }
  }
  return false;
}

const char* to_string(network_access::mode m) noexcept {
  return m == network_access::mode::allow_list ? "allow_list" : "none";
}

bool parse_network_mode(std::string_view name, network_access::mode& out) noexcept {
  if (name == "none")
    out = network_access::mode::none;
  else if (name == "allow_list")
    out = network_access::mode::allow_list;
  else
    return false;
  return true;
}

} // namespace aetherium::api
