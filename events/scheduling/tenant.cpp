#include "events/scheduling/tenant.hpp"

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
  if (auto ok = validate_quotas(c.quotas); !ok)
    return ok.err();
  return events{tenant_created{c.id, c.name, c.quotas, c.now_us}};
}

result<events> decide_change(const tenant_state& s, const change_quotas& c) {
  if (auto ok = validate_quotas(c.quotas); !ok)
    return ok.err();
  if (c.quotas == s.quotas)
    return events{};
  return events{tenant_quotas_changed{c.quotas, c.now_us}};
}

} // namespace

result<void> validate_quotas(const tenant_quotas& q) {
  if (q.max_concurrent_tasks == 0)
    return make_error(errc::invalid_argument, "max_concurrent_tasks must be at least 1", "max_concurrent_tasks");
  if (q.cpu_millis == 0)
    return make_error(errc::invalid_argument, "the cpu quota must be at least 1 millicore", "cpu_millis");
  if (q.memory_bytes == 0)
    return make_error(errc::invalid_argument, "the memory quota must be at least 1 byte", "memory_bytes");
  return {};
}

const char* type_name(const tenant_event& e) noexcept {
  return std::visit([](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; }, e);
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
