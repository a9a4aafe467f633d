#include "adapters/json/task_fields.hpp"

namespace aetherium::json_fields {

using namespace domain;

nlohmann::json spec_json(const task_spec& s) {
  nlohmann::json j = {{"agent_type", s.agent_type}, {"prompt", s.prompt}, {"script", s.script}, {"repo", s.repo},
          {"base_ref", s.base_ref}, {"runtime", s.runtime},
          {"limits", {{"memory_bytes", s.limits.memory_bytes}, {"pids", s.limits.pids},
                      {"cpu_millis", s.limits.cpu_millis}, {"disk_bytes", s.limits.disk_bytes}}},
          {"budgets", {{"max_seconds", s.budgets.max_seconds}, {"max_log_bytes", s.budgets.max_log_bytes},
                       {"max_changed_bytes", s.budgets.max_changed_bytes}}},
          {"allowed_hosts", s.allowed_hosts}, {"secrets", s.secrets}, {"verify_command", s.verify_command},
          {"open_pr_on_failed_verification", s.open_pr_on_failed_verification}};
  // Written only when set, so a task without them is stored as it was before they existed.
  if (s.budgets.max_cost_cents != 0)
    j["budgets"]["max_cost_cents"] = s.budgets.max_cost_cents;
  if (!s.model_providers.empty())
    j["model_providers"] = s.model_providers;
  if (s.node_loss_retries != 1)
    j["node_loss_retries"] = s.node_loss_retries;
  return j;
}

task_spec spec_of(const nlohmann::json& j) {
  task_spec s;
  j.at("agent_type").get_to(s.agent_type);
  j.at("prompt").get_to(s.prompt);
  j.at("script").get_to(s.script);
  j.at("repo").get_to(s.repo);
  j.at("base_ref").get_to(s.base_ref);
  j.at("runtime").get_to(s.runtime);
  auto& l = j.at("limits");
  l.at("memory_bytes").get_to(s.limits.memory_bytes);
  l.at("pids").get_to(s.limits.pids);
  l.at("cpu_millis").get_to(s.limits.cpu_millis);
  l.at("disk_bytes").get_to(s.limits.disk_bytes);
  auto& b = j.at("budgets");
  b.at("max_seconds").get_to(s.budgets.max_seconds);
  b.at("max_log_bytes").get_to(s.budgets.max_log_bytes);
  b.at("max_changed_bytes").get_to(s.budgets.max_changed_bytes);
  if (b.contains("max_cost_cents"))
    b.at("max_cost_cents").get_to(s.budgets.max_cost_cents);
  if (j.contains("model_providers"))
    j.at("model_providers").get_to(s.model_providers);
  if (j.contains("node_loss_retries"))
    j.at("node_loss_retries").get_to(s.node_loss_retries);
  j.at("allowed_hosts").get_to(s.allowed_hosts);
  j.at("secrets").get_to(s.secrets);
  j.at("verify_command").get_to(s.verify_command);
  j.at("open_pr_on_failed_verification").get_to(s.open_pr_on_failed_verification);
  return s;
}

nlohmann::json output_json(const task_output& o) {
  nlohmann::json j = {{"files_changed", o.files_changed}, {"insertions", o.insertions}, {"deletions", o.deletions},
          {"changed_bytes", o.changed_bytes}, {"exit_code", o.exit_code}, {"duration_ms", o.duration_ms},
          {"base_commit", o.base_commit}, {"summary", o.summary}, {"patch_ref", o.patch_ref}};
  if (!o.session_ref.empty()) // written only when set: older outputs read back as they were stored
    j["session"] = {{"ref", o.session_ref}, {"id", o.session_id}};
  return j;
}

task_output output_of(const nlohmann::json& j) {
  task_output o;
  j.at("files_changed").get_to(o.files_changed);
  j.at("insertions").get_to(o.insertions);
  j.at("deletions").get_to(o.deletions);
  j.at("changed_bytes").get_to(o.changed_bytes);
  j.at("exit_code").get_to(o.exit_code);
  j.at("duration_ms").get_to(o.duration_ms);
  j.at("base_commit").get_to(o.base_commit);
  j.at("summary").get_to(o.summary);
  j.at("patch_ref").get_to(o.patch_ref);
  if (j.contains("session")) {
    j.at("session").at("ref").get_to(o.session_ref);
    j.at("session").at("id").get_to(o.session_id);
  }
  return o;
}

nlohmann::json pr_json(const task_pull_request& p) {
  return {{"url", p.url}, {"number", p.number}, {"branch", p.branch}, {"commit", p.commit}};
}

task_pull_request pr_of(const nlohmann::json& j) {
  return {j.at("url").get<std::string>(), j.at("number").get<std::int64_t>(), j.at("branch").get<std::string>(),
          j.at("commit").get<std::string>()};
}

namespace {

nlohmann::json quota_json(const scheduling::quota& q) { return q ? nlohmann::json(*q) : nlohmann::json(nullptr); }

scheduling::quota quota_of(const nlohmann::json& quotas, const char* key) {
  auto it = quotas.find(key);
  if (it == quotas.end() || it->is_null())
    return std::nullopt;
  return it->get<std::uint64_t>();
}

} // namespace

nlohmann::json quotas_json(const scheduling::tenant_quotas& q) {
  return {{"max_live_tasks", quota_json(q.max_live_tasks)}, {"max_sandboxes", quota_json(q.max_sandboxes)},
          {"max_memory_bytes", quota_json(q.max_memory_bytes)}};
}

scheduling::tenant_quotas quotas_of(const nlohmann::json& j) {
  return {quota_of(j, "max_live_tasks"), quota_of(j, "max_sandboxes"), quota_of(j, "max_memory_bytes")};
}

} // namespace aetherium::json_fields
