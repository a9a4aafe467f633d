#include "adapters/json/json_domain_codec.hpp"
#include "events/overloaded.hpp"

#include <nlohmann/json.hpp>

#include "adapters/json/stored_events.hpp"
#include "adapters/json/task_fields.hpp"

namespace aetherium {

using nlohmann::json;
using namespace domain;
using namespace json_fields;

namespace {

json task_payload(const task_event& e) {
  return std::visit(
    overloaded{
      [](const task_requested& x) -> json {
        return {{"task_id", x.id.str()}, {"tenant", x.tenant.str()}, {"project", x.project.str()},
                {"parent_task_id", x.parent ? json(x.parent->str()) : json(nullptr)},
                {"spec", spec_json(x.spec)}, {"at_us", x.at_us}};
      },
      [](const task_scheduled& x) -> json { return {{"node", x.node.str()}, {"at_us", x.at_us}}; },
      [](const task_sandbox_provisioned& x) -> json { return {{"sandbox_id", x.sandbox_id}, {"at_us", x.at_us}}; },
      [](const task_output_collected& x) -> json { return {{"output", output_json(x.output)}, {"at_us", x.at_us}}; },
      [](const task_verified& x) -> json {
        return {{"exit_code", x.exit_code}, {"output_tail", x.output_tail}, {"at_us", x.at_us}};
      },
      [](const task_pr_recorded& x) -> json { return {{"pull_request", pr_json(x.pr)}, {"at_us", x.at_us}}; },
      [](const task_failed& x) -> json {
        return {{"reason", to_string(x.reason)}, {"detail", x.detail}, {"at_us", x.at_us}};
      },
      [](const task_cancel_requested& x) -> json { return {{"by", x.by}, {"at_us", x.at_us}}; },
      [](const task_model_used& x) -> json {
        return {{"provider", x.provider}, {"model", x.model}, {"input_tokens", x.input_tokens},
                {"output_tokens", x.output_tokens}, {"cost_microcents", x.cost_microcents},
                {"priced", x.priced}, {"read", x.read}, {"at_us", x.at_us}};
      },
      [](const auto& x) -> json { return {{"at_us", x.at_us}}; },
    },
    e);
}

std::int64_t at(const json& j) { return j.at("at_us").get<std::int64_t>(); }

result<task_event> task_event_of(const std::string& type, const json& j) {
  if (type == task_requested::type_name) {
    std::optional<task_id> parent;
    if (!j.at("parent_task_id").is_null())
      parent = task_id{j.at("parent_task_id").get<std::string>()};
    return task_event{task_requested{task_id{j.at("task_id").get<std::string>()},
                                     tenant_id{j.at("tenant").get<std::string>()},
                                     project_id{j.at("project").get<std::string>()}, parent,
                                     spec_of(j.at("spec")), at(j)}};
  }
  if (type == task_scheduled::type_name)
    return task_event{task_scheduled{node_id{j.at("node").get<std::string>()}, at(j)}};
  if (type == task_sandbox_provisioned::type_name)
    return task_event{task_sandbox_provisioned{j.at("sandbox_id").get<std::string>(), at(j)}};
  if (type == task_started::type_name)
    return task_event{task_started{at(j)}};
  if (type == task_output_collected::type_name)
    return task_event{task_output_collected{output_of(j.at("output")), at(j)}};
  if (type == task_verified::passed_type_name || type == task_verified::failed_type_name)
    return task_event{task_verified{type == task_verified::passed_type_name, j.at("exit_code").get<int>(),
                                    j.at("output_tail").get<std::string>(), at(j)}};
  if (type == task_pr_recorded::opened_type_name || type == task_pr_recorded::updated_type_name)
    return task_event{task_pr_recorded{type == task_pr_recorded::updated_type_name, pr_of(j.at("pull_request")), at(j)}};
  if (type == task_completed::type_name)
    return task_event{task_completed{at(j)}};
  if (type == task_failed::type_name) {
    failure_reason reason{};
    if (!parse_failure_reason(j.at("reason").get<std::string>(), reason))
      return make_error(errc::corrupt, "unknown failure reason " + j.at("reason").get<std::string>());
    return task_event{task_failed{reason, j.at("detail").get<std::string>(), at(j)}};
  }
  if (type == task_cancel_requested::type_name)
    return task_event{task_cancel_requested{j.at("by").get<std::string>(), at(j)}};
  if (type == task_terminated::type_name)
    return task_event{task_terminated{at(j)}};
  if (type == task_model_used::type_name)
    return task_event{task_model_used{j.at("provider").get<std::string>(), j.at("model").get<std::string>(),
                                      j.at("input_tokens").get<std::uint64_t>(),
                                      j.at("output_tokens").get<std::uint64_t>(),
                                      j.at("cost_microcents").get<std::uint64_t>(), j.at("priced").get<bool>(),
                                      j.at("read").get<bool>(), at(j)}};
  return make_error(errc::corrupt, "unknown event type " + type);
}

class json_task_codec : public task_codec {
public:
  new_event encode(const task_event& e, const std::string& id, const event_metadata& md) const override {
    return stored(type_name(e), schema_version(e), task_payload(e), id, md);
  }
  result<task_event> decode(const recorded_event& r) const override {
    return decode_with<task_event>(r, task_schema_version(r.type), task_event_of);
  }
};

class json_project_codec : public project_codec {
public:
  new_event encode(const project_event& e, const std::string& id, const event_metadata& md) const override {
    auto& x = std::get<project_created>(e);
    json p = {{"project_id", x.id.str()}, {"tenant", x.tenant.str()}, {"name", x.name}, {"repo", x.repo},
              {"default_base_ref", x.default_base_ref}, {"verify_command", x.verify_command}, {"at_us", x.at_us}};
    return stored(project_created::type_name, project_created::schema_version, p, id, md);
  }
  result<project_event> decode(const recorded_event& r) const override {
    int current = r.type == project_created::type_name ? project_created::schema_version : 0;
    return decode_with<project_event>(r, current, [](const std::string& type, const json& j) -> result<project_event> {
      if (type != project_created::type_name)
        return make_error(errc::corrupt, "unknown event type " + type);
      return project_event{project_created{project_id{j.at("project_id").get<std::string>()},
                                           tenant_id{j.at("tenant").get<std::string>()}, j.at("name").get<std::string>(),
                                           j.at("repo").get<std::string>(), j.at("default_base_ref").get<std::string>(),
                                           j.at("verify_command").get<std::string>(), at(j)}};
    });
  }
};

class json_tenant_codec : public tenant_codec {
public:
  new_event encode(const scheduling::tenant_event& e, const std::string& id, const event_metadata& md) const override {
    using namespace scheduling;
    if (auto* c = std::get_if<tenant_created>(&e)) {
      json p = {{"tenant", c->id.str()}, {"name", c->name}, {"quotas", quotas_json(c->quotas)}, {"at_us", c->at_us}};
      return stored(tenant_created::type_name, tenant_created::schema_version, p, id, md);
    }
    auto& q = std::get<tenant_quotas_changed>(e);
    json p = {{"quotas", quotas_json(q.quotas)}, {"at_us", q.at_us}};
    return stored(tenant_quotas_changed::type_name, tenant_quotas_changed::schema_version, p, id, md);
  }
  result<scheduling::tenant_event> decode(const recorded_event& r) const override {
    using namespace scheduling;
    return decode_with<tenant_event>(r, tenant_schema_version(r.type),
                                     [](const std::string& type, const json& j) -> result<tenant_event> {
                                       if (type == tenant_created::type_name)
                                         return tenant_event{tenant_created{tenant_id{j.at("tenant").get<std::string>()},
                                                                            j.at("name").get<std::string>(),
                                                                            quotas_of(j.at("quotas")), at(j)}};
                                       return tenant_event{tenant_quotas_changed{quotas_of(j.at("quotas")), at(j)}};
                                     });
  }
};

} // namespace

std::shared_ptr<const tenant_codec> make_json_tenant_codec() {
  return std::make_shared<json_tenant_codec>();
}

std::shared_ptr<const task_codec> make_json_task_codec() {
  return std::make_shared<json_task_codec>();
}

std::shared_ptr<const project_codec> make_json_project_codec() {
  return std::make_shared<json_project_codec>();
}

} // namespace aetherium
