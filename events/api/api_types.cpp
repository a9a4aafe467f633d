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

const char* to_string(task_status status) noexcept {
  switch (status) {
    case task_status::requested: return "requested";
    case task_status::scheduled: return "scheduled";
    case task_status::sandbox_provisioned: return "sandbox_provisioned";
    case task_status::running: return "running";
    case task_status::output_collected: return "output_collected";
    case task_status::verification_passed: return "verification_passed";
    case task_status::verification_failed: return "verification_failed";
    case task_status::pr_opened: return "pr_opened";
    case task_status::pr_updated: return "pr_updated";
    case task_status::completed: return "completed";
    case task_status::failed: return "failed";
    case task_status::cancel_requested: return "cancel_requested";
    case task_status::terminated: return "terminated";
  }
  return "requested";
}

bool parse_task_status(std::string_view name, task_status& out) noexcept {
  for (auto s : all_task_statuses) {
    if (name == to_string(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

bool is_terminal(task_status status) noexcept {
  return status == task_status::completed || status == task_status::failed
         || status == task_status::terminated;
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
