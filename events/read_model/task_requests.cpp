#include "events/read_model/task_requests.hpp"

#include <tuple>

#include "events/agents.hpp"
#include "events/sha256.hpp"

namespace aetherium::read_model {

namespace {

template <class T>
T or_default(T value, T fallback) {
  return value == T{} ? fallback : value;
}

auto limits_tuple(const domain::task_limits& l) {
  return std::make_tuple(l.memory_bytes, l.pids, l.cpu_millis, l.disk_bytes);
}

auto budgets_tuple(const domain::task_budgets& b) {
  return std::make_tuple(b.max_seconds, b.max_log_bytes, b.max_changed_bytes, b.max_cost_cents);
}

bool same_spec(const domain::task_spec& a, const domain::task_spec& b) {
  return std::tie(a.agent_type, a.prompt, a.script, a.repo, a.base_ref, a.runtime, a.allowed_hosts, a.secrets,
                  a.model_providers, a.verify_command, a.open_pr_on_failed_verification, a.node_loss_retries)
           == std::tie(b.agent_type, b.prompt, b.script, b.repo, b.base_ref, b.runtime, b.allowed_hosts, b.secrets,
                       b.model_providers, b.verify_command, b.open_pr_on_failed_verification, b.node_loss_retries)
         && limits_tuple(a.limits) == limits_tuple(b.limits) && budgets_tuple(a.budgets) == budgets_tuple(b.budgets);
}

} // namespace

domain::task_spec resolve_spec(const api::create_task_request& r, const domain::project_state& project,
                               const task_entry* parent, const task_defaults& d) {
  domain::task_spec s;
  s.agent_type = r.agent_type;
  s.prompt = r.prompt;
  if (r.agent_type == "script")
    s.script = r.prompt;
  s.repo = r.repo.empty() ? project.fields.repo : r.repo;
  s.base_ref = r.base_ref.empty() ? project.fields.default_base_ref : r.base_ref;
  if (parent && r.base_ref.empty())
    s.base_ref = parent->state.pr ? parent->state.pr->branch : parent->state.spec.base_ref;
  s.runtime = r.runtime.empty() ? d.runtime : r.runtime;
  s.limits.memory_bytes = or_default(r.limits.memory_bytes, d.limits.memory_bytes);
  s.limits.pids = or_default(r.limits.pids, d.limits.pids);
  s.limits.cpu_millis = or_default(r.limits.cpu_millis, d.limits.cpu_millis);
  s.limits.disk_bytes = or_default(r.limits.disk_bytes, d.limits.disk_bytes);
  s.budgets = d.budgets;
  s.budgets.max_seconds = or_default(r.budgets.max_seconds, d.budgets.max_seconds);
  s.budgets.max_log_bytes = or_default(r.budgets.max_log_bytes, d.budgets.max_log_bytes);
  s.budgets.max_changed_bytes = or_default(r.budgets.max_changed_bytes, d.budgets.max_changed_bytes);
  s.budgets.max_cost_cents = or_default(r.budgets.max_cost_cents, d.budgets.max_cost_cents);
  if (r.network.kind == api::network_access::mode::allow_list)
    s.allowed_hosts = r.network.allowed_hosts;
  s.secrets = r.secrets;
  s.model_providers = r.model_providers;
  s.node_loss_retries = r.node_loss_retries;
  if (s.model_providers.empty()) {
    auto templates = default_agent_templates();
    if (auto agent = templates.find(r.agent_type); agent != templates.end())
      s.model_providers = agent->second.model_providers;
  }
  s.verify_command = r.verify_command.empty() ? project.fields.verify_command : r.verify_command;
  return s;
}

bool same_request(const domain::task_state& t, const domain::request_task& c) {
  return t.exists && t.tenant == c.tenant && t.project == c.project && t.parent == c.parent
         && same_spec(t.spec, c.spec);
}

std::string code_host_repo(const std::string& repo) {
  for (std::string prefix : {"https://github.com/", "git@github.com:"}) {
    if (repo.rfind(prefix, 0) == 0) {
      auto name = repo.substr(prefix.size());
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0)
        name.resize(name.size() - 4);
      return name;
    }
  }
  return repo;
}

std::string derived_uuid(std::string_view seed) {
  auto h = sha256_hex(seed).substr(0, 32);
  h[12] = '8'; // not a random (version 4) UUID: mark it name-based (version 8)
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string project_id_for(const tenant_id& tenant, const std::string& name) {
  return derived_uuid("project\n" + tenant.str() + "\n" + name);
}

std::string task_id_for_key(const tenant_id& tenant, const std::string& key) {
  return derived_uuid("task\n" + tenant.str() + "\n" + key);
}

} // namespace aetherium::read_model
