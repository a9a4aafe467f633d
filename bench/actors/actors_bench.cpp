// Task creation through the actor core: a request_task command sent to the task registry,
// the task actor persisting `task.requested` through the journal, and the reply once it is
// durable. Beside it, the floor measured in the same run on the same server: the event
// store's own append of the same event with the same number of callers in flight.
//
//   bench_actors "<admin conninfo>" [tasks per figure, default 5000]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "bench/bench_support.hpp"

#include "actors/caf_system_config.hpp"
#include "actors/domain_actors.hpp"
#include "actors/domain_messages.hpp"
#include "actors/journal.hpp"
#include "adapters/json/json_domain_codec.hpp"

using namespace aetherium;
using bench::clock_type;
using bench::fresh_database;
using bench::seconds_since;

namespace {

domain::request_task request(const std::string& id) {
  domain::task_spec spec;
  spec.agent_type = "script";
  spec.prompt = "add a test for the parser";
  spec.script = "echo hello > hello.txt";
  spec.repo = "/srv/git/widgets.git";
  spec.base_ref = "main";
  spec.runtime = "crun";
  return {task_id{id}, tenant_id{"acme"}, project_id{"p-1"}, std::nullopt, spec, 1};
}

/// Waits until `n` completions were counted.
struct countdown {
  std::mutex mtx;
  std::condition_variable cv;
  long left;
  bool failed = false;
  explicit countdown(long n) : left(n) {}
  void done(bool ok) {
    std::lock_guard<std::mutex> lock{mtx};
    failed = failed || !ok;
    --left;
    cv.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return left <= 0; });
    return !failed;
  }
};

/// One client: sends its next create as soon as the previous one was answered.
void client(caf::event_based_actor* self, caf::actor registry, std::shared_ptr<id_generator> ids, long n,
            countdown* finished) {
  if (n == 0)
    return finished->done(true);
  auto id = ids->next_uuid();
  self->request(registry, caf::infinite, actors::command_atom::value, id, domain::task_command{request(id)},
                actors::command_context{{"acme", "bench"}})
    .then(
      [=](actors::task_reply& reply) {
        if (!reply.events || reply.events->size() != 1 || reply.position == 0) {
          std::fprintf(stderr, "create failed: %s\n",
                       reply.events ? "no event recorded" : reply.events.err().detail.c_str());
          return finished->done(false);
        }
        client(self, registry, ids, n - 1, finished);
      },
      [=](caf::error& e) {
        std::fprintf(stderr, "create failed: %s\n", caf::to_string(e).c_str());
        finished->done(false);
      });
}

double actor_creates(caf::actor_system& sys, caf::actor registry, int clients, long n) {
  countdown finished{clients};
  auto ids = make_random_id_generator();
  auto start = clock_type::now();
  for (int c = 0; c < clients; ++c)
    sys.spawn(client, registry, ids, n / clients, &finished);
  if (!finished.wait())
    std::exit(1);
  return (n / clients) * clients / seconds_since(start);
}

/// The same event, encoded once per call, appended straight to the store with `callers` in flight.
double store_appends(event_store& store, const domain::task_codec& codec, int callers, long n) {
  countdown finished{n / callers * callers};
  auto ids = make_random_id_generator();
  std::mutex mtx;
  std::function<void(long)> next = [&](long left) {
    if (left == 0)
      return;
    std::string id, event;
    {
      std::lock_guard<std::mutex> lock{mtx};
      id = ids->next_uuid();
      event = ids->next_uuid();
    }
    auto r = request(id);
    auto e = codec.encode(domain::task_requested{r.id, r.tenant, r.project, r.parent, r.spec, r.now_us},
                          event, {"acme", "bench"});
    store.append_async({domain::task::stream_of(id), expected_version::no_stream(), {e}},
                       [&, left](result<append_result> res) {
                         if (!res.ok())
                           std::fprintf(stderr, "append failed: %s\n", res.err().detail.c_str());
                         next(left - 1);
                         finished.done(res.ok());
                       });
  };
  auto start = clock_type::now();
  for (int c = 0; c < callers; ++c)
    next(n / callers);
  if (!finished.wait())
    std::exit(1);
  return (n / callers) * callers / seconds_since(start);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_actors '<admin conninfo>' [tasks]\n");
    return 2;
  }
  long n = argc > 2 ? std::atol(argv[2]) : 5000;
  auto url = fresh_database(argv[1], "aetherium_bench_actors");
  auto store = bench::open_store(url);
  auto codec = make_json_task_codec();
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto journal = actors::spawn_journal(sys, store);
  // Each task actor takes one command; a short idle time lets the system shut down at the end.
  auto registry = actors::spawn_task_registry(sys, journal, make_random_id_generator(), codec, std::chrono::seconds(1));
  std::printf("tasks per figure: %ld, fsync on, %zu CAF threads\n", n, actors::default_scheduler_threads());
  for (int clients : {1, 64}) {
    long count = clients == 1 ? n / 5 : n;
    double floor = store_appends(*store, *codec, clients, count);
    double actors = actor_creates(sys, registry, clients, count);
    std::printf("task create -> durable -> reply, %2d client(s) %8.0f /s   floor: store append %8.0f /s   "
                "ratio %5.1f%%\n", clients, actors, floor, 100.0 * actors / floor);
  }
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  return 0;
}
