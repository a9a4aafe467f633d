// Figure 1: place+release through the scheduler actor, in process and over CAF's network
// layer. The scheduler's own messages never cross a network (CAF_ALLOW_UNSAFE), so the
// child puts a forwarding actor in front of it that speaks a small wire struct; the floor
// is a bare echo of a uint64 over the same connection.
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/caf_system_config.hpp"
#include "actors/scheduling/scheduler_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "bench/cluster/cluster_bench.hpp"
#include "bench/server_support.hpp"

namespace aetherium::bench::cluster {

/// A placement request as it crosses the wire.
struct wire_place {
  std::string task, tenant, runtime;
  std::uint32_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;
};
/// The chosen node, or the error code (0: placed).
struct wire_placed {
  std::int32_t code = 0;
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_place& x) {
  return f(x.task, x.tenant, x.runtime, x.cpu_millis, x.memory_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_placed& x) {
  return f(x.code, x.node);
}

namespace {

using actors::place_atom;
using actors::release_atom;
using clock_type = std::chrono::steady_clock;

/// Both processes: the network layer, TLS, and the wire types.
struct network_config : actors::system_config {
  network_config() {
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
    add_message_type<wire_place>("bench.wire_place");
    add_message_type<wire_placed>("bench.wire_placed");
  }
};

/// A scheduler with one node large enough that no placement is ever refused. The node never
/// beats, so its heartbeat timeout is longer than any run.
caf::actor scheduler_with_room(caf::actor_system& sys) {
  actors::scheduler_options options;
  options.heartbeat_timeout = std::chrono::hours(24);
  auto scheduler = actors::spawn_scheduler(sys, options);
  scheduling::node_registration node{node_id{"node-1"}, {1u << 30, 1ull << 50, 1u << 30}, {"crun"}, ""};
  caf::scoped_actor self{sys};
  self->request(scheduler, caf::infinite, actors::register_atom::value, node)
    .receive([](actors::node_outcome& o) { if (!o) fail("register: " + o.err().detail); },
             [](caf::error& e) { fail("register: " + caf::to_string(e)); });
  return scheduler;
}

scheduling::placement_request request_of(std::uint64_t i) {
  return {task_id{"task-" + std::to_string(i)}, tenant_id{"tenant"}, "crun", 100, 1ull << 20};
}

wire_place wire_request_of(std::uint64_t i) {
  return {"task-" + std::to_string(i), "tenant", "crun", 100, 1ull << 20};
}

/// Converts the wire struct and asks the scheduler; answers with the wire struct.
caf::behavior forwarder(caf::event_based_actor* self, caf::actor scheduler) {
  return {
    [=](place_atom, wire_place& w) {
      auto rp = self->make_response_promise<wire_placed>();
      scheduling::placement_request r{task_id{w.task}, tenant_id{w.tenant}, w.runtime, w.cpu_millis, w.memory_bytes};
      self->request(scheduler, caf::infinite, place_atom::value, std::move(r))
        .then([=](actors::placement_outcome& o) mutable {
          rp.deliver(o ? wire_placed{0, o->str()} : wire_placed{static_cast<std::int32_t>(o.err().code), {}});
        });
      return rp;
    },
    [=](release_atom, std::string& task) {
      auto rp = self->make_response_promise<std::int32_t>();
      self->request(scheduler, caf::infinite, release_atom::value, std::move(task))
        .then([=](actors::release_outcome& o) mutable {
          rp.deliver(o ? std::int32_t{0} : static_cast<std::int32_t>(o.err().code));
        });
      return rp;
    },
    [](std::uint64_t x) { return x; },
  };
}

/// One operation: issue its requests from `self`, call `done` after the last answer.
using operation = std::function<void(caf::event_based_actor* self, std::uint64_t i, std::function<void()> done)>;

/// Keeps `window` operations in flight until `n` have completed.
struct driver {
  operation op;
  std::uint64_t n = 0, issued = 0, completed = 0;
  caf::event_based_actor* self = nullptr;
  std::promise<void> finished;

  void launch() {
    if (issued == n)
      return;
    op(self, issued++, [this] {
      if (++completed == n)
        finished.set_value();
      else
        launch();
    });
  }
};

/// Operations per second with `window` in flight, driven by an event-based actor.
double rate(caf::actor_system& sys, const operation& op, std::uint64_t n, int window) {
  auto d = std::make_shared<driver>();
  d->op = op;
  d->n = n;
  auto finished = d->finished.get_future();
  auto start = clock_type::now();
  auto a = sys.spawn([d, window](caf::event_based_actor* self) -> caf::behavior {
    d->self = self;
    for (int w = 0; w < window; ++w)
      d->launch();
    return {[d](std::int8_t) {}}; // keeps the driver alive until it is told to exit
  });
  finished.wait();
  auto seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return static_cast<double>(n) / seconds;
}

/// Operations per second one at a time, asked from a scoped actor.
template <class Ask>
double sequential_rate(caf::actor_system& sys, std::uint64_t n, Ask ask) {
  caf::scoped_actor self{sys};
  auto start = clock_type::now();
  for (std::uint64_t i = 0; i < n; ++i)
    ask(self, i);
  return static_cast<double>(n) / std::chrono::duration<double>(clock_type::now() - start).count();
}

template <class Reply>
void expect_reply(caf::scoped_actor& self, const caf::actor& to, caf::message m) {
  self->request(to, caf::infinite, std::move(m)).receive([](Reply&) {},
                                                         [](caf::error& e) { fail("request: " + caf::to_string(e)); });
}

/// place then release, in process.
operation local_place_release(caf::actor scheduler) {
  return [scheduler](caf::event_based_actor* self, std::uint64_t i, std::function<void()> done) {
    self->request(scheduler, caf::infinite, place_atom::value, request_of(i))
      .then([=](actors::placement_outcome& o) {
        if (!o)
          fail("place: " + o.err().detail);
        self->request(scheduler, caf::infinite, release_atom::value, "task-" + std::to_string(i))
          .then([=](actors::release_outcome&) { done(); });
      });
  };
}

/// place then release through the remote forwarder.
operation remote_place_release(caf::actor forwarder) {
  return [forwarder](caf::event_based_actor* self, std::uint64_t i, std::function<void()> done) {
    self->request(forwarder, caf::infinite, place_atom::value, wire_request_of(i))
      .then([=](wire_placed& p) {
        if (p.code != 0)
          fail("remote place: code " + std::to_string(p.code));
        self->request(forwarder, caf::infinite, release_atom::value, "task-" + std::to_string(i))
          .then([=](std::int32_t) { done(); });
      });
  };
}

/// Two echoes in a row: the same number of round trips as a place+release.
operation echo_twice(caf::actor peer) {
  return [peer](caf::event_based_actor* self, std::uint64_t i, std::function<void()> done) {
    self->request(peer, caf::infinite, std::uint64_t{i}).then([=](std::uint64_t) {
      self->request(peer, caf::infinite, std::uint64_t{i}).then([=](std::uint64_t) { done(); });
    });
  };
}

struct figures {
  double sequential = 0, in_flight = 0;
};

void print_row(const char* what, const figures& f, const figures& floor) {
  std::printf("  %-44s %10.0f /s %10.0f /s", what, f.sequential, f.in_flight);
  if (floor.sequential > 0)
    std::printf("   %5.1f %% %5.1f %%", 100 * f.sequential / floor.sequential, 100 * f.in_flight / floor.in_flight);
  std::printf("\n");
  std::fflush(stdout);
}

/// The remote legs over one connection to `forwarder`. The floor and the figure alternate
/// in four rounds, so a change of the machine's load during the run hits both.
void remote_legs(caf::actor_system& sys, const char* transport, caf::actor forwarder, std::uint64_t n) {
  constexpr int rounds = 4;
  auto per_round = n / rounds;
  figures echo, placed; // seconds first, rates at the end
  for (int round = 0; round < rounds; ++round) {
    echo.sequential += per_round / sequential_rate(sys, per_round, [&](caf::scoped_actor& self, std::uint64_t i) {
      expect_reply<std::uint64_t>(self, forwarder, caf::make_message(std::uint64_t{i}));
      expect_reply<std::uint64_t>(self, forwarder, caf::make_message(std::uint64_t{i}));
    });
    placed.sequential += per_round / sequential_rate(sys, per_round, [&](caf::scoped_actor& self, std::uint64_t i) {
      expect_reply<wire_placed>(self, forwarder, caf::make_message(place_atom::value, wire_request_of(i)));
      expect_reply<std::int32_t>(self, forwarder, caf::make_message(release_atom::value, "task-" + std::to_string(i)));
    });
    echo.in_flight += per_round / rate(sys, echo_twice(forwarder), per_round, 64);
    placed.in_flight += per_round / rate(sys, remote_place_release(forwarder), per_round, 64);
  }
  for (auto* f : {&echo, &placed}) {
    f->sequential = per_round * rounds / f->sequential;
    f->in_flight = per_round * rounds / f->in_flight;
  }
  std::string floor_name = std::string{"floor: two bare echoes, "} + transport;
  std::string name = std::string{"place+release over "} + transport;
  print_row(floor_name.c_str(), echo, {});
  print_row(name.c_str(), placed, echo);
}

} // namespace

int serve_scheduler(const std::string& transport) {
  network_config cfg;
  caf::actor_system sys{cfg};
  auto front = sys.spawn(forwarder, scheduler_with_room(sys));
  auto port = transport == "tls" ? caf::openssl::publish(front, 0, "127.0.0.1", true)
                                 : sys.middleman().publish(front, 0, "127.0.0.1", true);
  if (!port)
    return 1;
  std::printf("port %u\nready\n", *port);
  std::fflush(stdout);
  for (;;)
    ::pause();
}

void run_placements(int requests) {
  auto n = static_cast<std::uint64_t>(requests);
  std::printf("== placements: one operation = place + release (two requests), %llu operations per figure\n",
              static_cast<unsigned long long>(n));
  std::printf("  %-44s %13s %13s   %s\n", "", "one at a time", "64 in flight", "of the floor");
  network_config cfg;
  caf::actor_system sys{cfg};
  {
    auto scheduler = scheduler_with_room(sys);
    figures local;
    local.sequential = sequential_rate(sys, n, [&](caf::scoped_actor& self, std::uint64_t i) {
      expect_reply<actors::placement_outcome>(self, scheduler, caf::make_message(place_atom::value, request_of(i)));
      expect_reply<actors::release_outcome>(self, scheduler,
                                            caf::make_message(release_atom::value, "task-" + std::to_string(i)));
    });
    local.in_flight = rate(sys, local_place_release(scheduler), n, 64);
    print_row("place+release in process", local, {});
    caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
  }
  // One process per transport: CAF keeps one connection per peer node.
  helper_process plain_child{"scheduler", "plain"};
  auto plain = sys.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(plain_child.port()));
  if (!plain)
    fail("connect: " + sys.render(plain.error()));
  remote_legs(sys, "CAF io (TCP)", *plain, n);
  helper_process tls_child{"scheduler", "tls"};
  auto tls = caf::openssl::remote_actor(sys, "127.0.0.1", static_cast<std::uint16_t>(tls_child.port()));
  if (!tls)
    fail("connect with TLS: " + sys.render(tls.error()));
  remote_legs(sys, "CAF io + TLS", *tls, n);
  std::printf("\n");
  std::fflush(stdout);
}

} // namespace aetherium::bench::cluster
