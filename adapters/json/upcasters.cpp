#include "adapters/json/upcasters.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <utility>

namespace aetherium {

namespace {

using step = std::function<nlohmann::json(nlohmann::json)>;

/// A v1 quota at its type's largest value was unlimited: 0 in v2.
nlohmann::json v1_quota(const nlohmann::json& q, const char* key, std::uint64_t unlimited) {
  auto v = q.value(key, unlimited);
  return v >= unlimited ? 0 : v;
}

nlohmann::json tenant_quotas_v1_to_v2(nlohmann::json p) {
  auto old = p.value("quotas", nlohmann::json::object());
  p["quotas"] = {{"max_live_tasks", nullptr},
                 {"max_sandboxes", v1_quota(old, "max_concurrent_tasks", std::numeric_limits<std::uint32_t>::max())},
                 {"max_memory_bytes", v1_quota(old, "memory_bytes", std::numeric_limits<std::uint64_t>::max())}};
  return p;
}

/// (type, from version) -> the step to from version + 1.
const std::map<std::pair<std::string, int>, step>& steps() {
  static const std::map<std::pair<std::string, int>, step> table = {
    // task.requested v1 carried the wall-clock budget as a top-level "timeout_seconds" and
    // had no other budgets; v2 moved it into spec.budgets with the log and change budgets.
    {{"task.requested", 1},
     [](nlohmann::json p) {
       auto timeout = p.value("timeout_seconds", 1800);
       p.erase("timeout_seconds");
       p["spec"]["budgets"] = {{"max_seconds", timeout}, {"max_log_bytes", 8 << 20},
                               {"max_changed_bytes", 16 << 20}};
       return p;
     }},
    // tenant.* v1 held {max_concurrent_tasks, cpu_millis, memory_bytes}, each at least 1
    // (the largest value of its type meaning unlimited), counting sandboxes. v2 holds
    // max_live_tasks, max_sandboxes and max_memory_bytes, each null (the server's default),
    // 0 (unlimited) or a limit; tenants have no cpu quota any more.
    {{"tenant.created", 1}, tenant_quotas_v1_to_v2},
    {{"tenant.quotas_changed", 1}, tenant_quotas_v1_to_v2},
    // node.registered v1 had no credential: the embedded local node, which has none.
    {{"node.registered", 1},
     [](nlohmann::json p) {
       p["node"]["credential_sha256"] = "";
       return p;
     }},
    // node.drained v1 did not say who drained it: no drain was held then.
    {{"node.drained", 1},
     [](nlohmann::json p) {
       p["held"] = false;
       return p;
     }},
  };
  return table;
}

} // namespace

result<nlohmann::json> upcast(const std::string& type, int version, int current, nlohmann::json payload) {
  if (version > current || version < 1)
    return make_error(errc::invalid_argument, "schema version " + std::to_string(version)
                                                + " is not one this build knows (current: "
                                                + std::to_string(current) + ")");
  for (; version < current; ++version) {
    auto step = steps().find({type, version});
    if (step == steps().end())
      return make_error(errc::invalid_argument, "no upcaster from schema version " + std::to_string(version));
    payload = step->second(std::move(payload));
  }
  return payload;
}

std::vector<std::pair<std::string, int>> upcast_steps() {
  std::vector<std::pair<std::string, int>> out;
  for (auto& [from, step] : steps())
    out.push_back(from);
  return out;
}

} // namespace aetherium
