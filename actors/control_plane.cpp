#include "actors/control_plane.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/domain_messages.hpp"
#include "actors/projector.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "events/api/validation.hpp"
#include "events/read_model/audit_feed.hpp"
#include "events/read_model/task_board.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::actors::projection_query)

namespace aetherium::actors {

namespace {

using read_model::task_board;

error unavailable(const caf::error& e) {
  return error{errc::unavailable, "the control plane could not answer: " + caf::to_string(e), {}};
}

/// Follows a task's log once the tenant check passed; stop() works before and after that.
class deferred_subscription : public subscription {
public:
  void attach(std::unique_ptr<subscription> inner) {
    std::unique_lock<std::mutex> lock{mtx_};
    if (stopped_) {
      lock.unlock();
      inner->stop();
      return;
    }
    inner_ = std::move(inner);
  }
  void stop() override {
    std::unique_ptr<subscription> inner;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopped_ = true;
      inner = std::move(inner_);
    }
    if (inner)
      inner->stop();
  }
  ~deferred_subscription() override { stop(); }

private:
  std::mutex mtx_;
  bool stopped_ = false;
  std::unique_ptr<subscription> inner_;
};

class actor_control_plane : public task_control_plane, public std::enable_shared_from_this<actor_control_plane> {
public:
  actor_control_plane(caf::actor_system& sys, control_plane_parts parts) : sys_(sys), p_(std::move(parts)) {}

  void create_project(const api::caller& who, api::create_project_request r, api::reply<api::project_view> done) override {
    if (auto ok = api::validate(r); !ok)
      return done(ok.err());
    // One project per name and tenant: the id is derived from both, so the aggregate's
    // "exists already" is the uniqueness check, even across restarts.
    auto id = read_model::project_id_for(who.tenant, r.name);
    domain::create_project cmd{project_id{id}, who.tenant, r.name, r.repo, r.default_base_ref, r.verify_command,
                               p_.time->now_us()};
    auto name = r.name;
    ask(p_.projects, id, domain::project_command{cmd}, context(who), [done, name](project_reply& reply) {
      if (!reply.events) {
        auto err = reply.events.err();
        if (err.code == errc::conflict)
          err = error{errc::conflict, "a project named " + name + " exists", "name"};
        return done(err);
      }
      done(read_model::to_view(reply.state));
    });
  }

  void get_project(const api::caller& who, const project_id& id, api::reply<api::project_view> done) override {
    query([who, id, done](const task_board& b) {
      auto* p = b.find_project(who.tenant, id);
      if (!p)
        return done(make_error(errc::not_found, "no project " + id.str()));
      done(read_model::to_view(*p));
    });
  }

  void create_task(const api::caller& who, api::create_task_request r, std::string key,
                   api::reply<api::task_created> done) override {
    if (auto ok = api::validate(r); !ok)
      return done(ok.err());
    if (auto offered = offers(r.runtime); !offered)
      return done(offered.err());
    if (!key.empty() && !api::valid_idempotency_key(key))
      return done(make_error(errc::invalid_argument, "the idempotency key must be 1 to 255 printable characters",
                             "Idempotency-Key"));
    auto self = shared_from_this();
    query([self, who, r, key, done](const task_board& b) {
      auto cmd = self->request_command(b, who, r, key);
      if (!cmd)
        return done(cmd.err());
      self->submit_task(who, std::move(*cmd), !key.empty(), done);
    });
  }

  /// Whether some node runs `runtime` (empty: the default, which the server checked at start).
  result<void> offers(const std::string& runtime) const {
    const auto& known = p_.runtimes;
    if (runtime.empty() || known.empty() || std::find(known.begin(), known.end(), runtime) != known.end())
      return {};
    std::string list;
    for (const auto& k : known)
      list += (list.empty() ? "" : ", ") + k;
    return make_error(errc::invalid_argument, "no node offers runtime " + runtime + "; offered: " + list, "runtime");
  }

  void get_task(const api::caller& who, const task_id& id, api::reply<api::task_view> done) override {
    query([who, id, done](const task_board& b) {
      auto* t = b.find_task(who.tenant, id);
      if (!t)
        return done(make_error(errc::not_found, "no task " + id.str()));
      done(read_model::to_view(*t));
    });
  }

  void list_tasks(const api::caller& who, api::task_filter filter, api::reply<api::task_page> done) override {
    query([who, filter, done](const task_board& b) { done(b.list_tasks(who.tenant, filter)); });
  }

  void cancel_task(const api::caller& who, const task_id& id, api::reply<api::task_view> done) override {
    auto self = shared_from_this();
    query([self, who, id, done](const task_board& b) {
      if (!b.find_task(who.tenant, id))
        return done(make_error(errc::not_found, "no task " + id.str()));
      domain::cancel_task cmd{who.principal, self->p_.time->now_us()};
      self->ask(self->p_.tasks, id.str(), domain::task_command{cmd}, context(who), [self, id, done](task_reply& reply) {
        if (!reply.events)
          return done(reply.events.err());
        caf::anon_send(self->p_.dispatcher, cancel_atom::value, id.str());
        done(read_model::to_view(read_model::task_entry{reply.state, reply.version, 0}));
      });
    });
  }

  void task_events(const api::caller& who, const task_id& id, api::reply<std::vector<api::event_view>> done) override {
    auto self = shared_from_this();
    query([self, who, id, done](const task_board& b) {
      if (!b.find_task(who.tenant, id))
        return done(make_error(errc::not_found, "no task " + id.str()));
      // The history is the task's stream in the log: read it off the scheduler.
      self->off_scheduler([store = self->p_.store, id, done] {
        done(read_model::stream_events(*store, domain::task::stream_of(id.str())));
      });
    });
  }

  void events_after(const api::caller& who, std::int64_t after, std::size_t limit, api::reply<api::event_page> done) override {
    off_scheduler([store = p_.store, tenant = who.tenant, after, limit, done] {
      done(read_model::events_after(*store, tenant, after, limit));
    });
  }

  void list_nodes(const api::caller&, api::reply<std::vector<api::node_view>> done) override {
    auto scheduler = p_.scheduler;
    auto nodes = p_.nodes;
    sys_.spawn([scheduler, nodes, done](caf::event_based_actor* self) {
      self->request(scheduler, caf::infinite, get_atom::value)
        .then([nodes, done](const scheduling::scheduler_summary& s) { done(to_views(s, nodes)); },
              [done](caf::error& e) { done(unavailable(e)); });
    });
  }

  void drain_node(const api::caller&, const node_id& id, bool undrain, api::reply<api::node_view> done) override {
    change_node(id, done, [id, undrain](caf::scoped_actor& self, caf::actor& scheduler, node_registry* nodes,
                                        std::int64_t now) -> result<void> {
      result<void> out;
      auto reply = [&](node_outcome& n) { out = n ? result<void>{} : result<void>{n.err()}; };
      auto failed = [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); };
      if (undrain)
        self->request(scheduler, std::chrono::seconds(10), undrain_atom::value, id.str()).receive(reply, failed);
      else
        self->request(scheduler, std::chrono::seconds(10), drain_atom::value, id.str()).receive(reply, failed);
      if (!out || !nodes)
        return out;
      scheduling::node_command cmd = scheduling::drain_node{now, true}; // an operator's: held
      if (undrain)
        cmd = scheduling::undrain_node{now};
      auto recorded = nodes->record(id, cmd);
      return recorded ? result<void>{} : result<void>{recorded.err()};
    });
  }

  void remove_node(const api::caller&, const node_id& id, api::reply<api::node_view> done) override {
    change_node(id, done, [id](caf::scoped_actor& self, caf::actor& scheduler, node_registry* nodes,
                               std::int64_t now) -> result<void> {
      if (nodes)
        if (auto recorded = nodes->record(id, scheduling::remove_node{"removed by an operator", now}); !recorded)
          return recorded.err();
      // Its sandboxes' tasks end as when a node is lost; a node the scheduler never saw is fine.
      self->request(scheduler, std::chrono::seconds(10), down_atom::value, id.str(), std::string{"removed"})
        .receive([](node_outcome&) {}, [](caf::error&) {});
      return {};
    });
  }

  void read_task_logs(const api::caller& who, const task_id& id, std::uint64_t from, std::size_t max_bytes,
                      api::reply<api::log_page> done) override {
    auto self = shared_from_this();
    query([self, who, id, from, max_bytes, done](const task_board& b) {
      auto* t = b.find_task(who.tenant, id);
      if (!t)
        return done(make_error(errc::not_found, "no task " + id.str()));
      bool ended = domain::is_terminal(t->state.status);
      // Task logs are files: read them off the scheduler (and out of the projector).
      self->off_scheduler([logs = self->p_.logs, id, from, max_bytes, ended, done] {
        api::log_page page;
        page.chunks = logs->read(id, from, max_bytes);
        page.next_offset = page.chunks.empty() ? from : page.chunks.back().offset + page.chunks.back().text.size();
        page.complete = ended && logs->read(id, page.next_offset, 1).empty();
        done(std::move(page));
      });
    });
  }

  std::unique_ptr<subscription> follow_task_logs(const api::caller& who, const task_id& id, std::uint64_t from,
                                                 api::log_follower follower) override {
    auto handle = std::make_shared<deferred_subscription>();
    auto self = shared_from_this();
    std::weak_ptr<deferred_subscription> weak = handle;
    query([self, who, id, from, follower, weak](const task_board& b) {
      if (!b.find_task(who.tenant, id))
        return follower.on_open(make_error(errc::not_found, "no task " + id.str()));
      // Following starts by reading what the log file holds: off the scheduler too.
      self->off_scheduler([logs = self->p_.logs, id, from, follower, weak] {
        auto h = weak.lock();
        if (!h)
          return; // the client went away before the check
        follower.on_open({});
        h->attach(logs->follow(id, from, follower.on_chunk, follower.on_end));
      });
    });
    return std::make_unique<owning_subscription>(handle);
  }

  void readiness(api::reply<void> done) override {
    auto store = p_.store;
    auto board = p_.board;
    sys_.spawn<caf::detached>([store, board, done](caf::event_based_actor* self) {
      auto head = store->head_position();
      if (!head)
        return done(make_error(errc::unavailable, "event store: " + head.err().detail));
      self->request(board, std::chrono::seconds(5), get_atom::value, *head)
        .then([done](std::int64_t) { done({}); },
              [done](caf::error&) { done(make_error(errc::unavailable, "the read model is catching up")); });
    });
  }

  void find_by_pull_request(const std::string& repo, std::int64_t number, api::reply<api::task_view> done) override {
    query([repo, number, done](const task_board& b) {
      auto* t = b.find_by_pull_request(repo, number);
      if (!t)
        return done(make_error(errc::not_found, "pull request " + repo + "#" + std::to_string(number)
                                                  + " was not opened by Aetherium"));
      done(read_model::to_view(*t));
    });
  }

  void count_tasks_by_status(std::function<void(std::map<std::string, std::size_t>)> done) override {
    query([done](const task_board& b) { done(b.count_by_status()); });
  }

private:
  /// Holds a shared handle so the query's weak reference sees the client going away.
  class owning_subscription : public subscription {
  public:
    explicit owning_subscription(std::shared_ptr<deferred_subscription> inner) : inner_(std::move(inner)) {}
    ~owning_subscription() override { inner_->stop(); }
    void stop() override { inner_->stop(); }

  private:
    std::shared_ptr<deferred_subscription> inner_;
  };

  static command_context context(const api::caller& who) {
    command_context ctx;
    ctx.metadata.tenant = who.tenant.str();
    ctx.metadata.principal = who.principal;
    ctx.metadata.correlation_id = who.correlation_id;
    return ctx;
  }

  /// Runs `change` (which may block on the log) off the scheduler, then answers with the
  /// node as list_nodes shows it.
  template <class F>
  void change_node(const node_id& id, api::reply<api::node_view> done, F change) {
    auto* sys = &sys_;
    off_scheduler([sys, scheduler = p_.scheduler, nodes = p_.nodes, time = p_.time, id, done, change]() mutable {
      caf::scoped_actor self{*sys};
      if (auto ok = change(self, scheduler, nodes.get(), time->now_us()); !ok)
        return done(ok.err());
      result<api::node_view> out = make_error(errc::not_found, "no node " + id.str());
      self->request(scheduler, std::chrono::seconds(10), get_atom::value)
        .receive(
          [&](const scheduling::scheduler_summary& s) {
            for (auto& v : to_views(s, nodes))
              if (v.id == id)
                out = v;
          },
          [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
      done(std::move(out));
    });
  }

  /// The nodes of the log, with the scheduler's view of those it holds now. A node the log
  /// says is there but the scheduler does not hold is not connected here: lost.
  static std::vector<api::node_view> to_views(const scheduling::scheduler_summary& s,
                                              const std::shared_ptr<node_registry>& nodes) {
    std::vector<api::node_view> out;
    std::unordered_map<node_id, const scheduling::node_load*> live;
    for (auto& n : s.nodes)
      live.emplace(n.id, &n);
    auto view_of = [](const scheduling::node_load& n) {
      api::node_view v;
      v.id = n.id;
      v.address = n.address;
      v.status = scheduling::api_status(n.status);
      v.up = n.status == scheduling::node_status::up;
      v.cpu_millis = n.capacity.cpu_millis;
      v.memory_bytes = n.capacity.memory_bytes;
      v.sandbox_slots = n.capacity.sandbox_slots;
      v.sandboxes_running = n.used.sandboxes;
      if (n.status == scheduling::node_status::up || n.status == scheduling::node_status::drained) {
        v.free_cpu_millis = n.capacity.cpu_millis - std::min<std::uint64_t>(n.used.cpu_millis, n.capacity.cpu_millis);
        v.free_memory_bytes = n.capacity.memory_bytes - std::min(n.used.memory_bytes, n.capacity.memory_bytes);
        v.free_sandbox_slots = n.capacity.sandbox_slots - std::min(n.used.sandboxes, n.capacity.sandbox_slots);
      }
      v.runtimes = n.runtimes;
      v.last_heartbeat_us = n.last_heartbeat_us;
      return v;
    };
    if (!nodes) {
      for (auto& n : s.nodes)
        out.push_back(view_of(n));
      return out;
    }
    for (auto& r : nodes->list()) {
      if (!r.state.exists)
        continue; // only ever refused
      auto it = live.find(r.state.node.id);
      if (it != live.end() && r.state.status != scheduling::node_status::removed) {
        out.push_back(view_of(*it->second));
        continue;
      }
      api::node_view v;
      v.id = r.state.node.id;
      v.address = r.state.node.address;
      v.status = r.state.status == scheduling::node_status::removed ? "removed" : "lost";
      v.up = false;
      v.cpu_millis = r.state.node.capacity.cpu_millis;
      v.memory_bytes = r.state.node.capacity.memory_bytes;
      v.sandbox_slots = r.state.node.capacity.sandbox_slots;
      v.runtimes = r.state.node.runtimes;
      v.last_heartbeat_us = r.state.last_heartbeat_us;
      out.push_back(std::move(v));
    }
    return out;
  }

  /// Checks a task request against the board and builds its command. Runs in the projector.
  result<domain::request_task> request_command(const task_board& b, const api::caller& who,
                                               const api::create_task_request& r, const std::string& key) {
    auto* project = b.find_project(who.tenant, r.project);
    if (!project)
      return make_error(errc::not_found, "no project " + r.project.str(), "project");
    const read_model::task_entry* parent = nullptr;
    if (r.parent && !(parent = b.find_task(who.tenant, *r.parent)))
      return make_error(errc::not_found, "no task " + r.parent->str(), "parent_task_id");
    auto id = key.empty() ? p_.ids->next_uuid() : read_model::task_id_for_key(who.tenant, key);
    auto spec = read_model::resolve_spec(r, *project, parent, p_.defaults);
    // A retry of a keyed request names a task that exists: it is answered, never refused.
    if (!b.find_task(task_id{id}))
      if (auto over = check_quotas(b, who.tenant, spec); !over)
        return over.err();
    return domain::request_task{task_id{id}, who.tenant, r.project, r.parent, std::move(spec), p_.time->now_us()};
  }

  /// The tenant's quotas that bind when a task is requested: its live tasks, and its
  /// memory quota against the task's own memory (which could never be placed). Quotas the
  /// tenant never set are the server's defaults: --tenant-max-tasks live tasks, the rest
  /// unlimited. Errors: quota_exceeded with the quota as field and its limit.
  result<void> check_quotas(const task_board& b, const tenant_id& tenant, const domain::task_spec& spec) const {
    scheduling::tenant_quotas defaults;
    defaults.max_live_tasks = p_.defaults.active_task_quota;
    auto* own = b.find_tenant(tenant);
    auto q = scheduling::with_defaults(own ? own->quotas : scheduling::tenant_quotas{}, defaults);
    auto over = [](const char* quota, std::uint64_t limit, std::string detail) {
      auto e = make_error(errc::quota_exceeded, std::move(detail), quota);
      e.limit = limit;
      return e;
    };
    if (auto limit = scheduling::limit_of(q.max_live_tasks); limit && b.live_tasks(tenant) >= *limit)
      return over("max_live_tasks", *limit,
                  "tenant " + tenant.str() + " has " + std::to_string(*limit) + " live tasks, its max_live_tasks quota");
    if (auto limit = scheduling::limit_of(q.max_memory_bytes); limit && spec.limits.memory_bytes > *limit)
      return over("max_memory_bytes", *limit,
                  "the task asks for " + std::to_string(spec.limits.memory_bytes)
                    + " bytes of memory, more than tenant " + tenant.str() + "'s max_memory_bytes quota");
    return {};
  }

  void submit_task(const api::caller& who, domain::request_task cmd, bool keyed, api::reply<api::task_created> done) {
    auto self = shared_from_this();
    auto id = cmd.id.str();
    ask(p_.tasks, id, domain::task_command{cmd}, context(who), [self, cmd, keyed, done](task_reply& reply) {
      if (!reply.events) {
        if (keyed && reply.events.err().code == errc::conflict) {
          if (!read_model::same_request(reply.state, cmd))
            return done(make_error(errc::conflict, "the idempotency key was used for a different request",
                                   "Idempotency-Key"));
          return done(api::task_created{read_model::to_view({reply.state, reply.version, 0}), true});
        }
        return done(reply.events.err());
      }
      caf::anon_send(self->p_.dispatcher, run_atom::value, cmd.id.str());
      done(api::task_created{read_model::to_view({reply.state, reply.version, 0}), false});
    });
  }

  /// Runs `f`, which may block on files, on a thread of its own.
  template <class F>
  void off_scheduler(F f) {
    sys_.spawn<caf::detached>([f]() mutable { f(); });
  }

  /// Runs `f` against the board, inside the projector.
  template <class F>
  void query(F f) {
    projection_query q{[f](const projection& p) { f(static_cast<const task_board&>(p)); }};
    if (p_.board_reader)
      p_.board_reader->read(q);
    else
      caf::anon_send(p_.board, get_atom::value, std::move(q));
  }

  /// Sends a command to a registry; once it is durable, waits until the board has folded
  /// it (read your writes), then calls `then` with the reply.
  template <class Command, class Then>
  void ask(caf::actor registry, std::string id, Command cmd, command_context ctx, Then then) {
    using reply_t = std::conditional_t<std::is_same_v<Command, domain::task_command>, task_reply, project_reply>;
    auto board = p_.board;
    sys_.spawn([registry, board, id, cmd, ctx, then](caf::event_based_actor* self) mutable {
      self->request(registry, caf::infinite, command_atom::value, id, std::move(cmd), std::move(ctx))
        .then(
          [self, board, then](reply_t& reply) mutable {
            if (!reply.events || reply.position == 0)
              return then(reply);
            self->request(board, caf::infinite, get_atom::value, reply.position)
              .then([reply, then](std::int64_t) mutable { then(reply); });
          },
          [then](caf::error& e) mutable {
            reply_t failed;
            failed.events = unavailable(e);
            then(failed);
          });
    });
  }

  caf::actor_system& sys_;
  control_plane_parts p_;
};

} // namespace

std::shared_ptr<task_control_plane> make_actor_control_plane(caf::actor_system& sys, control_plane_parts parts) {
  return std::make_shared<actor_control_plane>(sys, std::move(parts));
}

} // namespace aetherium::actors
