#include "events/api/memory_control_plane.hpp"

#include <algorithm>
#include <condition_variable>
#include <atomic>
#include <map>
#include <mutex>

#include "events/api/memory_task_log.hpp"
#include "events/api/validation.hpp"
#include "events/canonical_json.hpp"

namespace aetherium::api {

namespace {

/// A tiny JSON object writer for event payloads.
class payload {
public:
  payload& add(std::string_view key, std::string_view value) {
    next_key(key);
    append_json_string(text_, value);
    return *this;
  }
  std::string str() const { return text_ + "}"; }

private:
  void next_key(std::string_view key) {
    text_ += text_.size() > 1 ? ", " : "";
    append_json_string(text_, key);
    text_ += ": ";
  }
  std::string text_ = "{";
};

/// Every field of a task request, so that two requests compare equal exactly when they ask
/// for the same task.
std::string fingerprint(const create_task_request& r) {
  std::string out;
  auto add = [&](std::string_view s) { out += std::to_string(s.size()) + ":" + std::string{s}; };
  for (auto* s : {&r.project.str(), &r.agent_type, &r.prompt, &r.repo, &r.base_ref, &r.runtime, &r.verify_command})
    add(*s);
  for (auto n : {r.limits.memory_bytes, std::uint64_t{r.limits.pids}, std::uint64_t{r.limits.cpu_millis},
                 r.limits.disk_bytes, std::uint64_t{r.budgets.max_seconds}, r.budgets.max_cost_cents,
                 r.budgets.max_log_bytes, r.budgets.max_changed_bytes})
    add(std::to_string(n));
  for (auto& h : r.network.allowed_hosts)
    add(h);
  add("|");
  for (auto& s : r.secrets)
    add(s);
  add(r.parent ? "p" + r.parent->str() : "-");
  return out;
}

struct task_entry {
  task_view view;
  std::int64_t seq = 0;
  std::string fingerprint;
};

struct stored_event {
  event_view view;
  tenant_id tenant;
};

class null_subscription : public subscription {
public:
  void stop() override {}
};

/// Counts live log subscriptions so tests can see clients going away.
struct follower_count {
  std::mutex mtx;
  std::condition_variable changed;
  std::size_t live = 0;

  void add(int delta) {
    std::lock_guard<std::mutex> guard{mtx};
    live = static_cast<std::size_t>(static_cast<long>(live) + delta);
    changed.notify_all();
  }
};

class counted_subscription : public subscription {
public:
  counted_subscription(std::unique_ptr<subscription> inner, std::shared_ptr<follower_count> count)
    : inner_(std::move(inner)), count_(std::move(count)) {
    count_->add(1);
  }
  ~counted_subscription() override { stop(); }
  void stop() override {
    inner_->stop();
    if (!stopped_.exchange(true))
      count_->add(-1);
  }

private:
  std::unique_ptr<subscription> inner_;
  std::shared_ptr<follower_count> count_;
  std::atomic<bool> stopped_{false};
};

class memory_control_plane_impl : public memory_control_plane {
public:
  memory_control_plane_impl(std::shared_ptr<clock> clock, std::shared_ptr<id_generator> ids, std::size_t max_log)
    : clock_(std::move(clock)), ids_(std::move(ids)), logs_(make_memory_task_log(max_log)) {}

  void create_project(const caller& who, create_project_request request, reply<project_view> done) override {
    done(do_create_project(who, std::move(request)));
  }

  void get_project(const caller& who, const project_id& id, reply<project_view> done) override {
    std::unique_lock<std::mutex> lock{mtx_};
    auto it = projects_.find(id.str());
    if (it == projects_.end() || it->second.tenant != who.tenant) {
      lock.unlock();
      return done(make_error(errc::not_found, "no project " + id.str()));
    }
    auto view = it->second;
    lock.unlock();
    done(std::move(view));
  }

  void create_task(const caller& who, create_task_request request, std::string key,
                   reply<task_created> done) override {
    done(do_create_task(who, std::move(request), std::move(key)));
  }

  void get_task(const caller& who, const task_id& id, reply<task_view> done) override {
    done(find_task(who, id));
  }

  void list_tasks(const caller& who, task_filter filter, reply<task_page> done) override {
    done(do_list_tasks(who, std::move(filter)));
  }

  void cancel_task(const caller& who, const task_id& id, reply<task_view> done) override {
    done(do_cancel(who, id));
  }

  void task_events(const caller& who, const task_id& id, reply<std::vector<event_view>> done) override {
    if (auto found = find_task(who, id); !found)
      return done(found.err());
    std::unique_lock<std::mutex> lock{mtx_};
    std::vector<event_view> out;
    for (auto& e : events_)
      if (e.view.stream == "task-" + id.str())
        out.push_back(e.view);
    lock.unlock();
    done(std::move(out));
  }

  void events_after(const caller& who, std::int64_t after, std::size_t limit, reply<event_page> done) override {
    done(do_events_after(who, after, limit));
  }

  void list_nodes(const caller&, reply<std::vector<node_view>> done) override {
    std::unique_lock<std::mutex> lock{mtx_};
    std::vector<node_view> out;
    for (auto& [id, n] : nodes_)
      out.push_back(n);
    lock.unlock();
    done(std::move(out));
  }

  void read_task_logs(const caller& who, const task_id& id, std::uint64_t from, std::size_t max_bytes,
                      reply<log_page> done) override {
    auto found = find_task(who, id);
    if (!found)
      return done(found.err());
    log_page page;
    page.chunks = logs_->read(id, from, max_bytes);
    page.next_offset = page.chunks.empty() ? from : page.chunks.back().offset + page.chunks.back().text.size();
    page.complete = is_terminal(found->status) && logs_->read(id, page.next_offset, 1).empty();
    done(std::move(page));
  }

  std::unique_ptr<subscription> follow_task_logs(const caller& who, const task_id& id, std::uint64_t from,
                                                 log_follower follower) override {
    auto found = find_task(who, id);
    if (!found) {
      follower.on_open(found.err());
      return std::make_unique<null_subscription>();
    }
    follower.on_open({});
    return std::make_unique<counted_subscription>(
      logs_->follow(id, from, std::move(follower.on_chunk), std::move(follower.on_end)), followers_);
  }

  void readiness(reply<void> done) override {
    std::unique_lock<std::mutex> lock{mtx_};
    auto answer = readiness_;
    lock.unlock();
    done(std::move(answer));
  }

  result<void> set_task_status(const task_id& id, task_status status, std::string reason) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto it = tasks_.find(id.str());
      if (it == tasks_.end())
        return make_error(errc::not_found, "no task " + id.str());
      move_to(it->second.view, status, std::move(reason));
    }
    if (is_terminal(status))
      logs_->close(id);
    return {};
  }

  result<void> append_log(const task_id& id, std::string stream, std::string text) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (tasks_.count(id.str()) == 0)
        return make_error(errc::not_found, "no task " + id.str());
    }
    return logs_->append(id, stream, text);
  }

  void put_node(node_view node) override {
    std::lock_guard<std::mutex> guard{mtx_};
    nodes_[node.id.str()] = std::move(node);
  }

  void set_readiness(result<void> answer) override {
    std::lock_guard<std::mutex> guard{mtx_};
    readiness_ = std::move(answer);
  }

  void set_active_task_quota(std::size_t n) override {
    std::lock_guard<std::mutex> guard{mtx_};
    quota_ = n;
  }

  std::size_t live_log_followers() override {
    std::lock_guard<std::mutex> guard{followers_->mtx};
    return followers_->live;
  }

  bool wait_live_log_followers(std::size_t n, std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock{followers_->mtx};
    return followers_->changed.wait_for(lock, timeout, [&] { return followers_->live == n; });
  }

private:
  result<project_view> do_create_project(const caller& who, create_project_request r) {
    if (auto ok = validate(r); !ok)
      return ok.err();
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, p] : projects_)
      if (p.tenant == who.tenant && p.name == r.name)
        return make_error(errc::conflict, "a project named " + r.name + " exists", "name");
    project_view p{project_id{ids_->next_uuid()}, who.tenant, r.name, r.repo, r.default_base_ref,
                   r.verify_command, clock_->now_us()};
    record(who.tenant, "project-" + p.id.str(), "project.created",
           payload{}.add("project_id", p.id.str()).add("name", p.name).add("repo", p.repo).str());
    projects_[p.id.str()] = p;
    return p;
  }

  result<task_created> do_create_task(const caller& who, create_task_request r, std::string key);
  result<task_page> do_list_tasks(const caller& who, task_filter filter);
  result<event_page> do_events_after(const caller& who, std::int64_t after, std::size_t limit);

  result<task_view> find_task(const caller& who, const task_id& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = tasks_.find(id.str());
    if (it == tasks_.end() || it->second.view.tenant != who.tenant)
      return make_error(errc::not_found, "no task " + id.str());
    return it->second.view;
  }

  result<task_view> do_cancel(const caller& who, const task_id& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = tasks_.find(id.str());
    if (it == tasks_.end() || it->second.view.tenant != who.tenant)
      return make_error(errc::not_found, "no task " + id.str());
    auto& view = it->second.view;
    if (is_terminal(view.status))
      return make_error(errc::invalid_transition,
                        std::string{"task "} + id.str() + " is already " + to_string(view.status));
    if (view.status != task_status::cancel_requested)
      move_to(view, task_status::cancel_requested, {});
    return view;
  }

  /// Moves a task and records the event. Caller holds mtx_.
  void move_to(task_view& view, task_status status, std::string reason) {
    auto now = clock_->now_us();
    view.status = status;
    view.updated_at_us = now;
    if (status == task_status::running && view.started_at_us == 0)
      view.started_at_us = now;
    if (is_terminal(status))
      view.finished_at_us = now;
    if (status == task_status::failed)
      view.failure_reason = reason;
    view.version = record(view.tenant, "task-" + view.id.str(), std::string{"task."} + to_string(status),
                          payload{}.add("task_id", view.id.str()).add("reason", reason).str());
  }

  /// Appends an audit event; returns the stream's new version. Caller holds mtx_.
  std::int64_t record(const tenant_id& tenant, const std::string& stream, std::string type, std::string body) {
    auto version = ++versions_[stream];
    event_view e{static_cast<std::int64_t>(events_.size()) + 1, stream, version, std::move(type), 1,
                 std::move(body), clock_->now_us()};
    events_.push_back({std::move(e), tenant});
    return version;
  }

  std::shared_ptr<clock> clock_;
  std::shared_ptr<id_generator> ids_;
  std::shared_ptr<task_log> logs_;
  std::shared_ptr<follower_count> followers_ = std::make_shared<follower_count>();
  std::mutex mtx_;
  std::map<std::string, project_view> projects_;
  std::map<std::string, task_entry> tasks_;
  std::map<std::int64_t, std::string> tasks_by_seq_;
  std::map<std::pair<std::string, std::string>, std::string> idempotency_; ///< (tenant, key) -> task id
  std::map<std::string, std::int64_t> versions_;
  std::vector<stored_event> events_;
  std::map<std::string, node_view> nodes_;
  result<void> readiness_;
  std::size_t quota_ = 0;
  std::int64_t next_seq_ = 0;
};

result<task_created> memory_control_plane_impl::do_create_task(const caller& who, create_task_request r,
                                                               std::string key) {
  if (auto ok = validate(r); !ok)
    return ok.err();
  if (!key.empty() && !valid_idempotency_key(key))
    return make_error(errc::invalid_argument, "the idempotency key must be 1 to 255 printable characters",
                      "Idempotency-Key");
  auto print = fingerprint(r);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!key.empty()) {
    auto it = idempotency_.find({who.tenant.str(), key});
    if (it != idempotency_.end()) {
      auto& earlier = tasks_.at(it->second);
      if (earlier.fingerprint != print)
        return make_error(errc::conflict, "the idempotency key was used for a different request",
                          "Idempotency-Key");
      return task_created{earlier.view, true};
    }
  }
  auto project = projects_.find(r.project.str());
  if (project == projects_.end() || project->second.tenant != who.tenant)
    return make_error(errc::not_found, "no project " + r.project.str(), "project");
  if (r.parent) {
    auto parent = tasks_.find(r.parent->str());
    if (parent == tasks_.end() || parent->second.view.tenant != who.tenant)
      return make_error(errc::not_found, "no task " + r.parent->str(), "parent_task_id");
  }
  if (quota_ > 0) {
    auto live = std::count_if(tasks_.begin(), tasks_.end(), [&](auto& t) {
      return t.second.view.tenant == who.tenant && !is_terminal(t.second.view.status);
    });
    if (static_cast<std::size_t>(live) >= quota_)
      return make_error(errc::quota_exceeded, "the tenant has " + std::to_string(live) + " live tasks, its quota");
  }
  task_view v;
  v.id = task_id{ids_->next_uuid()};
  v.project = r.project;
  v.tenant = who.tenant;
  v.agent_type = r.agent_type;
  v.prompt = r.prompt;
  v.repo = r.repo.empty() ? project->second.repo : r.repo;
  v.base_ref = r.base_ref.empty() ? project->second.default_base_ref : r.base_ref;
  v.runtime = r.runtime.empty() ? "crun" : r.runtime;
  v.limits = r.limits;
  v.budgets = r.budgets;
  v.network = r.network;
  v.secrets = r.secrets;
  v.verify_command = r.verify_command.empty() ? project->second.verify_command : r.verify_command;
  v.parent = r.parent;
  v.created_at_us = v.updated_at_us = clock_->now_us();
  v.version = record(who.tenant, "task-" + v.id.str(), "task.requested",
                     payload{}.add("task_id", v.id.str()).add("project_id", v.project.str())
                       .add("agent_type", v.agent_type).add("prompt", v.prompt).str());
  auto seq = ++next_seq_;
  tasks_[v.id.str()] = task_entry{v, seq, print};
  tasks_by_seq_[seq] = v.id.str();
  if (!key.empty())
    idempotency_[{who.tenant.str(), key}] = v.id.str();
  return task_created{std::move(v), false};
}

result<task_page> memory_control_plane_impl::do_list_tasks(const caller& who, task_filter f) {
  if (f.limit == 0 || f.limit > limits::page_size)
    return make_error(errc::invalid_argument, "limit must be 1 to 500", "limit");
  auto before = api::parse_task_cursor(f.cursor);
  if (!before)
    return before.err();
  std::lock_guard<std::mutex> guard{mtx_};
  task_page page;
  for (auto it = tasks_by_seq_.lower_bound(*before); it != tasks_by_seq_.begin();) {
    --it;
    auto& t = tasks_.at(it->second);
    if (t.view.tenant != who.tenant || (f.project && t.view.project != *f.project)
        || (f.status && t.view.status != *f.status))
      continue;
    if (page.tasks.size() == f.limit) {
      page.next_cursor = std::to_string(tasks_.at(page.tasks.back().id.str()).seq);
      break;
    }
    page.tasks.push_back(t.view);
  }
  return page;
}

result<event_page> memory_control_plane_impl::do_events_after(const caller& who, std::int64_t after,
                                                              std::size_t limit) {
  if (after < 0)
    return make_error(errc::invalid_argument, "after must not be negative", "after");
  if (limit == 0 || limit > limits::events_page_size)
    return make_error(errc::invalid_argument, "limit must be 1 to 1000", "limit");
  std::lock_guard<std::mutex> guard{mtx_};
  event_page page;
  page.next_after = after;
  for (auto i = static_cast<std::size_t>(std::min<std::int64_t>(after, static_cast<std::int64_t>(events_.size())));
       i < events_.size() && page.events.size() < limit; ++i) {
    page.next_after = events_[i].view.position;
    if (events_[i].tenant == who.tenant)
      page.events.push_back(events_[i].view);
  }
  return page;
}

} // namespace

std::shared_ptr<memory_control_plane> make_memory_control_plane(std::shared_ptr<clock> clock,
                                                                std::shared_ptr<id_generator> ids,
                                                                std::size_t max_log_bytes) {
  return std::make_shared<memory_control_plane_impl>(std::move(clock), std::move(ids), max_log_bytes);
}

} // namespace aetherium::api
