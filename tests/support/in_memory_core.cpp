#include "tests/support/in_memory_core.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <caf/all.hpp>

#include "actors/caf_system_config.hpp"
#include "actors/domain_actors.hpp"
#include "actors/domain_messages.hpp"
#include "actors/journal.hpp"
#include "actors/messages.hpp"
#include "actors/projector.hpp"
#include "actors/scheduling/scheduler_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/scheduling/tenant_quota_feed.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "events/api/memory_task_log.hpp"
#include "events/read_model/task_board.hpp"

namespace aetherium::testing {

namespace {

using namespace std::chrono_literals;
using domain::task_status;

/// How long a test waits for an actor's answer before calling it lost.
constexpr auto answer_deadline = 30s;

/// The in-memory store, except that head_position() fails while it is "unreachable".
class switchable_event_store : public event_store {
public:
  explicit switchable_event_store(std::shared_ptr<event_store> inner) : inner_(std::move(inner)) {}

  void append_async(append_request request, append_callback done) override {
    inner_->append_async(std::move(request), std::move(done));
  }
  result<std::vector<recorded_event>> read_stream(const stream_id& stream, std::int64_t after) override {
    return inner_->read_stream(stream, after);
  }
  result<std::vector<recorded_event>> read_all(std::int64_t after, std::size_t max_count) override {
    return inner_->read_all(after, max_count);
  }
  result<std::int64_t> head_position() override {
    if (!reachable_)
      return make_error(errc::unavailable, "the database cannot be reached");
    return inner_->head_position();
  }
  std::unique_ptr<subscription> subscribe(std::int64_t after, event_handler handler) override {
    return inner_->subscribe(after, std::move(handler));
  }

  void set_reachable(bool reachable) { reachable_ = reachable; }

private:
  std::shared_ptr<event_store> inner_;
  std::atomic<bool> reachable_{true};
};

/// Counts live follow() subscriptions so tests can see clients going away.
struct follower_count {
  mutable std::mutex mtx;
  mutable std::condition_variable changed;
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

/// The in-memory task log, counting its followers.
class counting_task_log : public task_log {
public:
  counting_task_log(std::shared_ptr<task_log> inner, std::shared_ptr<follower_count> count)
    : inner_(std::move(inner)), count_(std::move(count)) {}

  result<void> append(const task_id& task, std::string_view stream, std::string_view text) override {
    return inner_->append(task, stream, text);
  }
  void close(const task_id& task) override { inner_->close(task); }
  std::vector<log_chunk> read(const task_id& task, std::uint64_t from, std::size_t max_bytes) override {
    return inner_->read(task, from, max_bytes);
  }
  std::unique_ptr<subscription> follow(const task_id& task, std::uint64_t from, chunk_handler on_chunk,
                                       end_handler on_end) override {
    return std::make_unique<counted_subscription>(inner_->follow(task, from, std::move(on_chunk), std::move(on_end)),
                                                  count_);
  }

private:
  std::shared_ptr<task_log> inner_;
  std::shared_ptr<follower_count> count_;
};

/// What the execution plane stand-in was told.
struct execution_record {
  std::mutex mtx;
  std::condition_variable changed;
  std::vector<task_id> runs, cancels;

  void add(std::vector<task_id> execution_record::*list, const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    (this->*list).emplace_back(id);
    changed.notify_all();
  }
};

/// Stands in for the task dispatcher: records (run_atom, id) and (cancel_atom, id), and
/// hands each run to `on_run` on a detached actor (it may block).
caf::behavior recording_dispatcher(caf::event_based_actor* self, std::shared_ptr<execution_record> record,
                                   std::function<void(const task_id&)> on_run) {
  return {
    [self, record, on_run](actors::run_atom, const std::string& id) {
      record->add(&execution_record::runs, id);
      if (on_run)
        self->spawn<caf::detached>([on_run, id] { on_run(task_id{id}); });
    },
    [record](actors::cancel_atom, const std::string& id) { record->add(&execution_record::cancels, id); },
  };
}

/// The command that moves a task from `s` one step towards `to`; none when no path leads there.
std::optional<domain::task_command> next_step(const domain::task_state& s, task_status to, const std::string& detail,
                                              std::int64_t now) {
  bool verifies = !s.spec.verify_command.empty();
  switch (to) {
    case task_status::failed: return domain::fail_task{domain::failure_reason::agent_failed, detail, now};
    case task_status::cancel_requested: return domain::cancel_task{"test", now};
    case task_status::terminated:
      if (s.status == task_status::cancel_requested)
        return domain::terminate_task{now};
      return domain::cancel_task{"test", now};
    default: break;
  }
  switch (s.status) {
    case task_status::requested: return domain::schedule_task{node_id{"local"}, now};
    case task_status::scheduled: return domain::record_sandbox{"sandbox-" + s.id.str(), now, false};
    case task_status::sandbox_provisioned: return domain::start_task{now};
    case task_status::running: return domain::collect_output{domain::task_output{}, now};
    case task_status::output_collected:
      if (to == task_status::verification_passed || to == task_status::verification_failed || verifies)
        return domain::record_verification{to != task_status::verification_failed, 0, "", now};
      [[fallthrough]];
    case task_status::verification_passed:
      if (to == task_status::pr_opened || to == task_status::pr_updated)
        return domain::record_pull_request{to == task_status::pr_updated,
                                           {"https://example.com/pr/1", 1, "aetherium/task-" + s.id.str(), "c0ffee"},
                                           now};
      return domain::complete_task{now};
    case task_status::pr_opened:
    case task_status::pr_updated: return domain::complete_task{now};
    default: return std::nullopt;
  }
}

} // namespace

struct in_memory_core::impl {
  explicit impl(in_memory_core_options o)
    : options(std::move(o)),
      time(options.time ? options.time : make_system_clock()),
      store(std::make_shared<switchable_event_store>(make_memory_event_store(time))),
      logs(std::make_shared<counting_task_log>(api::make_memory_task_log(options.max_log_bytes), followers)),
      sys(cfg) {
    auto ids = make_random_id_generator();
    journal = actors::spawn_journal(sys, store);
    tasks = actors::spawn_task_registry(sys, journal, ids, make_json_task_codec());
    projects = actors::spawn_project_registry(sys, journal, ids, make_json_project_codec());
    std::tie(board, board_reader) = actors::spawn_readable_projector(
      sys, store, std::make_unique<read_model::task_board>(make_json_task_codec(), make_json_project_codec(),
                                                   make_json_tenant_codec()));
    actors::scheduler_options sched;
    sched.clock = time;
    scheduler = actors::spawn_scheduler(sys, sched);
    quota_feed = actors::spawn_tenant_quota_feed(sys, store, make_json_tenant_codec(), scheduler);
    dispatcher = sys.spawn(recording_dispatcher, record, options.on_run);
    actors::control_plane_parts parts{tasks, projects, board, dispatcher, scheduler, logs, store, time, ids, {},
                                      board_reader};
    parts.defaults.active_task_quota = options.active_task_quota;
    parts.runtimes = options.runtimes;
    control = actors::make_actor_control_plane(sys, parts);
  }

  /// Stops every actor (the registries stop their live aggregates, the scheduler its
  /// nodes), so the actor system finishes without waiting for idle timeouts.
  ~impl() {
    control.reset();
    for (auto& a : {dispatcher, board, tasks, projects, quota_feed, scheduler, journal})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  result<domain::task_state> load(const task_id& id) {
    caf::scoped_actor self{sys};
    result<domain::task_state> out = make_error(errc::unavailable, "no answer");
    self->request(tasks, answer_deadline, actors::get_atom::value, id.str())
      .receive([&](actors::task_reply& r) { out = std::move(r.state); },
               [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
    return out;
  }

  in_memory_core_options options;
  std::shared_ptr<clock> time;
  std::shared_ptr<switchable_event_store> store;
  std::shared_ptr<follower_count> followers = std::make_shared<follower_count>();
  std::shared_ptr<task_log> logs;
  std::shared_ptr<execution_record> record = std::make_shared<execution_record>();
  actors::system_config cfg;
  caf::actor_system sys;
  caf::actor journal, tasks, projects, board, scheduler, quota_feed, dispatcher;
  std::shared_ptr<actors::projection_reader> board_reader;
  std::shared_ptr<actors::task_control_plane> control;
};

in_memory_core::in_memory_core(in_memory_core_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

in_memory_core::~in_memory_core() = default;

std::shared_ptr<actors::task_control_plane> in_memory_core::control() const {
  return impl_->control;
}

std::shared_ptr<event_store> in_memory_core::store() const {
  return impl_->store;
}

result<domain::task_state> in_memory_core::command(const task_id& task, domain::task_command cmd) {
  auto loaded = impl_->load(task);
  if (!loaded)
    return loaded.err();
  actors::command_context ctx;
  ctx.metadata.tenant = loaded->tenant.str();
  ctx.metadata.principal = "node:local";
  caf::scoped_actor self{impl_->sys};
  result<domain::task_state> out = make_error(errc::unavailable, "no answer");
  std::int64_t position = 0;
  self->request(impl_->tasks, answer_deadline, actors::command_atom::value, task.str(), std::move(cmd), std::move(ctx))
    .receive(
      [&](actors::task_reply& r) {
        out = r.events ? result<domain::task_state>{std::move(r.state)} : result<domain::task_state>{r.events.err()};
        position = r.position;
      },
      [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  if (out && position > 0)
    self->request(impl_->board, answer_deadline, actors::get_atom::value, position)
      .receive([](std::int64_t) {},
               [&](caf::error& e) { out = make_error(errc::unavailable, "the board did not catch up: " + caf::to_string(e)); });
  return out;
}

result<void> in_memory_core::advance(const task_id& task, task_status status, std::string detail) {
  auto state = impl_->load(task);
  for (int step = 0; state && state->status != status; ++step) {
    auto cmd = step < 16 ? next_step(*state, status, detail, impl_->time->now_us()) : std::nullopt;
    if (!cmd)
      return make_error(errc::invalid_argument, std::string{"no path leads from "} + domain::to_string(state->status)
                                                  + " to " + domain::to_string(status));
    state = command(task, std::move(*cmd));
  }
  if (!state)
    return state.err();
  if (domain::is_terminal(status))
    impl_->logs->close(task);
  return {};
}

result<void> in_memory_core::append_log(const task_id& task, const std::string& stream, const std::string& text) {
  return impl_->logs->append(task, stream, text);
}

result<void> in_memory_core::record_tenant(const tenant_id& id, scheduling::tenant_command command) {
  using scheduling::tenant;
  auto stream = tenant::stream_of(id.str());
  auto stored = impl_->store->read_stream(stream, 0);
  if (!stored)
    return stored.err();
  auto codec = make_json_tenant_codec();
  tenant::state state;
  for (auto& e : *stored)
    state = tenant::evolve(std::move(state), *codec->decode(e));
  auto decided = tenant::decide(state, command);
  if (!decided)
    return decided.err();
  if (decided->empty())
    return {};
  append_request req{stream, expected_version::exactly(static_cast<std::int64_t>(stored->size())), {}};
  auto ids = make_random_id_generator();
  for (auto& e : *decided)
    req.events.push_back(codec->encode(e, ids->next_uuid(), {}));
  auto appended = impl_->store->append(std::move(req));
  if (!appended)
    return appended.err();
  caf::scoped_actor self{impl_->sys};
  result<void> out;
  self->request(impl_->board, answer_deadline, actors::get_atom::value, appended->last_position)
    .receive([](std::int64_t) {}, [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  return out;
}

result<node_id> in_memory_core::place(scheduling::placement_request request) {
  caf::scoped_actor self{impl_->sys};
  result<node_id> out = make_error(errc::unavailable, "no answer");
  self->request(impl_->scheduler, answer_deadline, actors::place_atom::value, std::move(request))
    .receive([&](actors::placement_outcome& o) { out = std::move(o); },
             [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  return out;
}

void in_memory_core::release(const task_id& task) {
  caf::anon_send(impl_->scheduler, actors::release_atom::value, task.str());
}

result<void> in_memory_core::register_node(scheduling::node_registration node) {
  caf::scoped_actor self{impl_->sys};
  result<void> out = make_error(errc::unavailable, "no answer");
  self->request(impl_->scheduler, answer_deadline, actors::register_atom::value, std::move(node))
    .receive([&](actors::node_outcome& o) { out = o ? result<void>{} : result<void>{o.err()}; },
             [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  return out;
}

void in_memory_core::set_store_reachable(bool reachable) {
  impl_->store->set_reachable(reachable);
}

std::vector<task_id> in_memory_core::runs() const {
  std::lock_guard<std::mutex> guard{impl_->record->mtx};
  return impl_->record->runs;
}

std::vector<task_id> in_memory_core::cancels() const {
  std::lock_guard<std::mutex> guard{impl_->record->mtx};
  return impl_->record->cancels;
}

bool in_memory_core::wait_for_execution(std::size_t runs, std::size_t cancels, std::chrono::milliseconds timeout) const {
  auto& r = *impl_->record;
  std::unique_lock<std::mutex> lock{r.mtx};
  return r.changed.wait_for(lock, timeout, [&] { return r.runs.size() >= runs && r.cancels.size() >= cancels; });
}

std::size_t in_memory_core::live_log_followers() const {
  std::lock_guard<std::mutex> guard{impl_->followers->mtx};
  return impl_->followers->live;
}

bool in_memory_core::wait_live_log_followers(std::size_t n, std::chrono::milliseconds timeout) const {
  auto& f = *impl_->followers;
  std::unique_lock<std::mutex> lock{f.mtx};
  return f.changed.wait_for(lock, timeout, [&] { return f.live == n; });
}

} // namespace aetherium::testing
