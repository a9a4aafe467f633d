#include "adapters/json/upcasters.hpp"

#include <functional>
#include <map>
#include <utility>

namespace aetherium {

namespace {

using step = std::function<nlohmann::json(nlohmann::json)>;

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
