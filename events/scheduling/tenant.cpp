#include "events/scheduling/tenant.hpp"

#include <algorithm>

namespace aetherium::scheduling {

namespace {

using events = std::vector<tenant_event>;

result<events> decide_create(const tenant_state& s, const create_tenant& c) {
  if (s.exists)
    return make_error(errc::conflict, "tenant " + c.id.str() + " exists already");
  if (c.id.empty() || c.id.str().size() > 128)
    return make_error(errc::invalid_argument, "tenant id must hold 1 to 128 bytes", "id");
  if (c.name.empty() || c.name.size() > 200)
    return make_error(errc::invalid_argument, "tenant name must hold 1 to 200 bytes", "name");
  return events{tenant_created{c.id, c.name, c.quotas, c.now_us}};
}

result<events> decide_change(const tenant_state& s, const change_quotas& c) {
  if (c.quotas == s.quotas)
    return events{};
  return events{tenant_quotas_changed{c.quotas, c.now_us}};
}

} // namespace

tenant_quotas with_defaults(const tenant_quotas& own, const tenant_quotas& defaults) {
  return {own.max_live_tasks ? own.max_live_tasks : defaults.max_live_tasks,
          own.max_sandboxes ? own.max_sandboxes : defaults.max_sandboxes,
          own.max_memory_bytes ? own.max_memory_bytes : defaults.max_memory_bytes};
}

placement_quotas placement_quotas_of(const tenant_quotas& q) {
  auto out = unlimited_quotas();
  if (auto n = limit_of(q.max_sandboxes))
    out.max_sandboxes = static_cast<std::uint32_t>(std::min<std::uint64_t>(*n, out.max_sandboxes));
  if (auto n = limit_of(q.max_memory_bytes))
    out.memory_bytes = *n;
  return out;
}

result<void> validate_quotas(const placement_quotas& q) {
  if (q.max_sandboxes == 0)
    return make_error(errc::invalid_argument, "max_sandboxes must be at least 1", "max_sandboxes");
  if (q.cpu_millis == 0)
    return make_error(errc::invalid_argument, "the cpu quota must be at least 1 millicore", "cpu_millis");
  if (q.memory_bytes == 0)
    return make_error(errc::invalid_argument, "the memory quota must be at least 1 byte", "memory_bytes");
  return {};
}

const char* type_name(const tenant_event& e) noexcept {
  return std::visit([](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; }, e);
}

int tenant_schema_version(const std::string& type) noexcept {
  if (type == tenant_created::type_name)
    return tenant_created::schema_version;
  if (type == tenant_quotas_changed::type_name)
    return tenant_quotas_changed::schema_version;
  return 0;
}

result<std::vector<tenant_event>> tenant::decide(const state& s, const command& c) {
  if (auto* create = std::get_if<create_tenant>(&c))
    return decide_create(s, *create);
  if (!s.exists)
    return make_error(errc::not_found, "no such tenant");
  return decide_change(s, std::get<change_quotas>(c));
}

tenant_state tenant::evolve(state s, const event& e) {
  if (auto* created = std::get_if<tenant_created>(&e)) {
    s.exists = true;
    s.id = created->id;
    s.name = created->name;
    s.quotas = created->quotas;
    s.created_at_us = created->at_us;
    s.updated_at_us = created->at_us;
    return s;
  }
  auto& changed = std::get<tenant_quotas_changed>(e);
  s.quotas = changed.quotas;
  s.updated_at_us = changed.at_us;
  return s;
}

} // namespace aetherium::scheduling
