#include "events/read_model/task_board.hpp"

#include <algorithm>

#include "events/api/validation.hpp"
#include "events/read_model/task_requests.hpp"

namespace aetherium::read_model {

namespace {

bool has_prefix(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

} // namespace

task_board::task_board(std::shared_ptr<const domain::task_codec> tasks,
                       std::shared_ptr<const domain::project_codec> projects,
                       std::shared_ptr<const domain::tenant_codec> tenants)
  : task_codec_(std::move(tasks)), project_codec_(std::move(projects)), tenant_codec_(std::move(tenants)) {}

void task_board::apply(const recorded_event& e) {
  auto& stream = e.stream.str();
  if (has_prefix(stream, "task-"))
    apply_task(e);
  else if (has_prefix(stream, "project-"))
    apply_project(e);
  else if (has_prefix(stream, "tenant-") && tenant_codec_)
    apply_tenant(e);
}

void task_board::restore(board_state state, std::int64_t position) {
  s_ = std::move(state);
  tasks_by_position_.clear();
  for (auto& [id, entry] : s_.tasks)
    if (entry.requested_at > 0)
      tasks_by_position_[entry.requested_at] = id;
  advance(position);
}

void task_board::apply_task(const recorded_event& e) {
  auto decoded = task_codec_->decode(e);
  if (!decoded) {
    ++s_.corrupt;
    s_.last_corruption = decoded.err().detail;
    return;
  }
  auto id = e.stream.str().substr(5);
  auto& entry = s_.tasks[id];
  if (std::holds_alternative<domain::task_requested>(*decoded)) {
    entry.requested_at = e.position;
    tasks_by_position_[e.position] = id;
  }
  entry.state = domain::task::evolve(std::move(entry.state), *decoded);
  entry.version = e.stream_version;
  if (auto* pr = std::get_if<domain::task_pr_recorded>(&*decoded))
    s_.pull_requests[{code_host_repo(entry.state.spec.repo), pr->pr.number}] = id;
}

const task_entry* task_board::find_by_pull_request(const std::string& repo, std::int64_t number) const {
  auto it = s_.pull_requests.find({repo, number});
  return it == s_.pull_requests.end() ? nullptr : find_task(task_id{it->second});
}

void task_board::apply_project(const recorded_event& e) {
  auto decoded = project_codec_->decode(e);
  if (!decoded) {
    ++s_.corrupt;
    s_.last_corruption = decoded.err().detail;
    return;
  }
  auto id = e.stream.str().substr(8);
  s_.projects[id] = domain::project::evolve(std::move(s_.projects[id]), *decoded);
}

void task_board::apply_tenant(const recorded_event& e) {
  auto decoded = tenant_codec_->decode(e);
  if (!decoded) {
    ++s_.corrupt;
    s_.last_corruption = decoded.err().detail;
    return;
  }
  auto id = e.stream.str().substr(7);
  s_.tenants[id] = scheduling::tenant::evolve(std::move(s_.tenants[id]), *decoded);
}

const scheduling::tenant_state* task_board::find_tenant(const tenant_id& id) const {
  auto it = s_.tenants.find(id.str());
  return it == s_.tenants.end() || !it->second.exists ? nullptr : &it->second;
}

const task_entry* task_board::find_task(const task_id& id) const {
  auto it = s_.tasks.find(id.str());
  return it == s_.tasks.end() || !it->second.state.exists ? nullptr : &it->second;
}

const task_entry* task_board::find_task(const tenant_id& tenant, const task_id& id) const {
  auto* t = find_task(id);
  return t && t->state.tenant == tenant ? t : nullptr;
}

const domain::project_state* task_board::find_project(const tenant_id& tenant, const project_id& id) const {
  auto it = s_.projects.find(id.str());
  if (it == s_.projects.end() || !it->second.exists || it->second.fields.tenant != tenant)
    return nullptr;
  return &it->second;
}

result<api::task_page> task_board::list_tasks(const tenant_id& tenant, const api::task_filter& f) const {
  if (f.limit == 0 || f.limit > api::limits::page_size)
    return make_error(errc::invalid_argument, "limit must be 1 to 500", "limit");
  auto before = api::parse_task_cursor(f.cursor);
  if (!before)
    return before.err();
  api::task_page page;
  for (auto it = tasks_by_position_.lower_bound(*before); it != tasks_by_position_.begin();) {
    --it;
    auto& t = s_.tasks.at(it->second);
    if (t.state.tenant != tenant || (f.project && t.state.project != *f.project)
        || (f.status && t.state.status != *f.status))
      continue;
    if (page.tasks.size() == f.limit) {
      page.next_cursor = std::to_string(s_.tasks.at(page.tasks.back().id.str()).requested_at);
      break;
    }
    page.tasks.push_back(to_view(t));
  }
  return page;
}

std::size_t task_board::live_tasks(const tenant_id& tenant) const {
  return static_cast<std::size_t>(std::count_if(s_.tasks.begin(), s_.tasks.end(), [&](auto& t) {
    return t.second.state.tenant == tenant && !domain::is_terminal(t.second.state.status);
  }));
}

std::map<std::string, std::size_t> task_board::count_by_status() const {
  std::map<std::string, std::size_t> out;
  for (auto& [id, entry] : s_.tasks)
    ++out[domain::to_string(entry.state.status)];
  return out;
}

std::vector<task_id> task_board::all_task_ids() const {
  std::vector<task_id> out;
  for (auto& [position, id] : tasks_by_position_)
    out.emplace_back(id);
  return out;
}

std::uint64_t task_board::tree_spend_microcents(const task_id& id) const {
  std::map<std::string, std::string> roots; // task -> root, filled as the walk goes
  auto root_of = [&](const std::string& start) {
    std::vector<std::string> chain;
    std::string at = start;
    for (std::size_t hops = 0; hops <= s_.tasks.size(); ++hops) {
      if (auto known = roots.find(at); known != roots.end()) {
        at = known->second;
        break;
      }
      chain.push_back(at);
      auto it = s_.tasks.find(at);
      if (it == s_.tasks.end() || !it->second.state.parent)
        break;
      at = it->second.state.parent->str();
    }
    for (auto& t : chain)
      roots[t] = at;
    return at;
  };
  auto root = root_of(id.str());
  std::uint64_t total = 0;
  for (auto& [task, entry] : s_.tasks)
    if (entry.state.spend.cost_microcents != 0 && root_of(task) == root)
      total = total + entry.state.spend.cost_microcents < total ? UINT64_MAX : total + entry.state.spend.cost_microcents;
  return total;
}

std::vector<task_id> task_board::live_task_ids() const {
  std::vector<task_id> out;
  for (auto& [position, id] : tasks_by_position_)
    if (!domain::is_terminal(s_.tasks.at(id).state.status))
      out.emplace_back(id);
  return out;
}

api::task_view to_view(const task_entry& entry) {
  auto& s = entry.state;
  api::task_view v;
  v.id = s.id;
  v.project = s.project;
  v.tenant = s.tenant;
  v.status = s.status;
  v.agent_type = s.spec.agent_type;
  v.prompt = s.spec.prompt;
  v.repo = s.spec.repo;
  v.base_ref = s.spec.base_ref;
  v.runtime = s.spec.runtime;
  v.limits = {s.spec.limits.memory_bytes, s.spec.limits.pids, s.spec.limits.cpu_millis, s.spec.limits.disk_bytes};
  v.budgets.max_seconds = s.spec.budgets.max_seconds;
  v.budgets.max_log_bytes = s.spec.budgets.max_log_bytes;
  v.budgets.max_changed_bytes = s.spec.budgets.max_changed_bytes;
  v.budgets.max_cost_cents = s.spec.budgets.max_cost_cents;
  v.network.kind = s.spec.allowed_hosts.empty() ? api::network_access::mode::none
                                                : api::network_access::mode::allow_list;
  v.network.allowed_hosts = s.spec.allowed_hosts;
  v.secrets = s.spec.secrets;
  v.model_providers = s.spec.model_providers;
  v.node_loss_retries = s.spec.node_loss_retries;
  v.verify_command = s.spec.verify_command;
  v.parent = s.parent;
  if (s.failure)
    v.failure_reason = domain::to_string(*s.failure);
  v.failure_detail = s.failure_detail;
  v.spend = s.spend;
  v.node = s.node.str();
  v.created_at_us = s.created_at_us;
  v.updated_at_us = s.updated_at_us;
  v.started_at_us = s.started_at_us;
  v.finished_at_us = s.finished_at_us;
  if (s.output)
    v.diff = api::diff_summary{s.output->files_changed, s.output->insertions, s.output->deletions,
                               s.output->summary};
  if (s.pr)
    v.pr_url = s.pr->url;
  v.version = entry.version;
  return v;
}

api::project_view to_view(const domain::project_state& p) {
  auto& f = p.fields;
  return api::project_view{f.id, f.tenant, f.name, f.repo, f.default_base_ref, f.verify_command, f.at_us};
}

} // namespace aetherium::read_model
