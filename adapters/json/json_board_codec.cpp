#include "adapters/json/json_board_codec.hpp"

#include <nlohmann/json.hpp>

#include "adapters/json/task_fields.hpp"
#include "events/sha256.hpp"

namespace aetherium {

using nlohmann::json;
using namespace domain;
using namespace json_fields;

namespace {

/// Bump whenever the body below, or what the board folds into its state, changes.
constexpr int format = 3; // 2: tenants and their quotas; 3: model spend

template <class T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json state_json(const task_state& s) {
  return {{"exists", s.exists}, {"id", s.id.str()}, {"tenant", s.tenant.str()}, {"project", s.project.str()},
          {"parent", s.parent ? json(s.parent->str()) : json(nullptr)}, {"spec", spec_json(s.spec)},
          {"status", to_string(s.status)}, {"node", s.node.str()}, {"sandbox_id", s.sandbox_id},
          {"output", s.output ? output_json(*s.output) : json(nullptr)},
          {"verification_passed", optional_json(s.verification_passed)},
          {"verification_tail", s.verification_tail}, {"pr", s.pr ? pr_json(*s.pr) : json(nullptr)},
          {"failure", s.failure ? json(to_string(*s.failure)) : json(nullptr)},
          {"failure_detail", s.failure_detail}, {"created_at_us", s.created_at_us},
          {"updated_at_us", s.updated_at_us}, {"started_at_us", s.started_at_us},
          {"finished_at_us", s.finished_at_us},
          {"spend", {{"calls", s.spend.calls}, {"input_tokens", s.spend.input_tokens},
                     {"output_tokens", s.spend.output_tokens}, {"cost_microcents", s.spend.cost_microcents},
                     {"unread_calls", s.spend.unread_calls}}}};
}

/// Throws std::runtime_error on a value this build does not know.
task_state state_of(const json& j) {
  task_state s;
  j.at("exists").get_to(s.exists);
  s.id = task_id{j.at("id").get<std::string>()};
  s.tenant = tenant_id{j.at("tenant").get<std::string>()};
  s.project = project_id{j.at("project").get<std::string>()};
  if (!j.at("parent").is_null())
    s.parent = task_id{j.at("parent").get<std::string>()};
  s.spec = spec_of(j.at("spec"));
  if (!parse_task_status(j.at("status").get<std::string>(), s.status))
    throw std::runtime_error("unknown task status " + j.at("status").get<std::string>());
  s.node = node_id{j.at("node").get<std::string>()};
  j.at("sandbox_id").get_to(s.sandbox_id);
  if (!j.at("output").is_null())
    s.output = output_of(j.at("output"));
  if (!j.at("verification_passed").is_null())
    s.verification_passed = j.at("verification_passed").get<bool>();
  j.at("verification_tail").get_to(s.verification_tail);
  if (!j.at("pr").is_null())
    s.pr = pr_of(j.at("pr"));
  if (!j.at("failure").is_null()) {
    failure_reason r;
    if (!parse_failure_reason(j.at("failure").get<std::string>(), r))
      throw std::runtime_error("unknown failure reason " + j.at("failure").get<std::string>());
    s.failure = r;
  }
  j.at("failure_detail").get_to(s.failure_detail);
  j.at("created_at_us").get_to(s.created_at_us);
  j.at("updated_at_us").get_to(s.updated_at_us);
  j.at("started_at_us").get_to(s.started_at_us);
  j.at("finished_at_us").get_to(s.finished_at_us);
  auto& spend = j.at("spend");
  spend.at("calls").get_to(s.spend.calls);
  spend.at("input_tokens").get_to(s.spend.input_tokens);
  spend.at("output_tokens").get_to(s.spend.output_tokens);
  spend.at("cost_microcents").get_to(s.spend.cost_microcents);
  spend.at("unread_calls").get_to(s.spend.unread_calls);
  return s;
}

json project_json(const project_state& p) {
  auto& f = p.fields;
  return {{"exists", p.exists}, {"id", f.id.str()}, {"tenant", f.tenant.str()}, {"name", f.name},
          {"repo", f.repo}, {"default_base_ref", f.default_base_ref}, {"verify_command", f.verify_command},
          {"at_us", f.at_us}};
}

project_state project_of(const json& j) {
  project_state p;
  j.at("exists").get_to(p.exists);
  auto& f = p.fields;
  f.id = project_id{j.at("id").get<std::string>()};
  f.tenant = tenant_id{j.at("tenant").get<std::string>()};
  j.at("name").get_to(f.name);
  j.at("repo").get_to(f.repo);
  j.at("default_base_ref").get_to(f.default_base_ref);
  j.at("verify_command").get_to(f.verify_command);
  j.at("at_us").get_to(f.at_us);
  return p;
}

class json_board_codec : public read_model::board_state_codec {
public:
  int format_version() const override { return format; }

  std::string encode(const read_model::board_state& b) const override {
    json tasks = json::object();
    for (auto& [id, t] : b.tasks)
      tasks[id] = {{"state", state_json(t.state)}, {"version", t.version}, {"requested_at", t.requested_at}};
    json projects = json::object();
    for (auto& [id, p] : b.projects)
      projects[id] = project_json(p);
    json prs = json::array();
    for (auto& [key, task] : b.pull_requests)
      prs.push_back({key.first, key.second, task});
    json tenants = json::object();
    for (auto& [id, t] : b.tenants)
      tenants[id] = {{"exists", t.exists},          {"name", t.name},
                     {"quotas", json_fields::quotas_json(t.quotas)}, {"created_at_us", t.created_at_us},
                     {"updated_at_us", t.updated_at_us}};
    json body = {{"tasks", std::move(tasks)}, {"projects", std::move(projects)}, {"pull_requests", std::move(prs)},
                 {"tenants", std::move(tenants)}, {"corrupt", b.corrupt}, {"last_corruption", b.last_corruption}};
    auto text = body.dump();
    return sha256_hex(text) + "\n" + text;
  }

  result<read_model::board_state> decode(const std::string& bytes) const override {
    auto nl = bytes.find('\n');
    if (nl != 64)
      return make_error(errc::corrupt, "no checksum line");
    auto text = bytes.substr(65);
    if (sha256_hex(text) != bytes.substr(0, 64))
      return make_error(errc::corrupt, "the checksum does not match the body");
    try {
      auto body = json::parse(text);
      read_model::board_state b;
      for (auto& [id, t] : body.at("tasks").items())
        b.tasks[id] = {state_of(t.at("state")), t.at("version").get<std::int64_t>(),
                       t.at("requested_at").get<std::int64_t>()};
      for (auto& [id, p] : body.at("projects").items())
        b.projects[id] = project_of(p);
      for (auto& pr : body.at("pull_requests"))
        b.pull_requests[{pr.at(0).get<std::string>(), pr.at(1).get<std::int64_t>()}] = pr.at(2).get<std::string>();
      for (auto& [id, t] : body.at("tenants").items()) {
        auto& s = b.tenants[id];
        s.id = tenant_id{id};
        t.at("exists").get_to(s.exists);
        t.at("name").get_to(s.name);
        s.quotas = json_fields::quotas_of(t.at("quotas"));
        t.at("created_at_us").get_to(s.created_at_us);
        t.at("updated_at_us").get_to(s.updated_at_us);
      }
      body.at("corrupt").get_to(b.corrupt);
      body.at("last_corruption").get_to(b.last_corruption);
      return b;
    } catch (const std::exception& e) {
      return make_error(errc::corrupt, std::string{"the body does not decode: "} + e.what());
    }
  }
};

} // namespace

std::shared_ptr<const read_model::board_state_codec> make_json_board_codec() {
  return std::make_shared<json_board_codec>();
}

} // namespace aetherium
