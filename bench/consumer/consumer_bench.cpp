// Latency from an event's commit to an integration's handler, p50/p99/max, for the two ways
// integrations consume the log, beside a floor measured in the same run on the same server:
//   - floor: one autocommit statement that inserts a row and calls pg_notify, received by a
//     plain libpqxx connection that LISTENs (measured before and after the other legs);
//   - embedded: the store's append to make_log_consumer's handler (LISTEN/NOTIFY, then a
//     read of the new rows);
//   - Kafka floor: the bus alone, an event published straight to the broker (linger 0) to a
//     make_kafka_event_consumer member's handler;
//   - Kafka: the store's append, the relay, the broker, to a group member's handler; once
//     with the relay's publisher as the server wires it (linger 5 ms) and once with
//     linger 0, to show what producer batching costs.
// Events are written one at a time: each waits until its handler ran, then a pause, so the
// figures are latencies of an idle pipeline, not of a queue. All times come from one
// steady clock in this process (the writer and the handlers run here).
//
//   bench_consumer "<admin conninfo>" "<kafka brokers, or - to skip>" [events, default 500]
//                  [pause ms, default 10]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "bench/bench_support.hpp"
#include "bench/consumer/latency_probe.hpp"

#include "actors/caf_system_config.hpp"
#include "actors/relay.hpp"
#include "adapters/kafka/kafka_event_consumer.hpp"
#include "adapters/kafka/kafka_event_publisher.hpp"
#include "events/canonical_json.hpp"
#include "events/hash_chain.hpp"
#include "events/integrations/log_consumer.hpp"

using namespace aetherium;
using bench::latency_probe;
using bench::latency_summary;
using bench::summarize;

namespace {

constexpr std::size_t warmup = 20; ///< Untimed events first: connections, topics, caches.

struct run_options {
  std::size_t events = 500;
  std::chrono::milliseconds pause{10};
};

/// Writes events 0..probe.size()-1 through `write`, one at a time, each after the previous
/// one was received and a pause. False when a write failed or an event was not delivered.
bool drive(latency_probe& probe, const run_options& opts, const std::function<bool(std::size_t)>& write) {
  for (std::size_t k = 0; k < probe.size(); ++k) {
    probe.sent(k);
    if (!write(k))
      return false;
    probe.written(k);
    // The first event may wait for a consumer to find its topic and join its group.
    auto timeout = k == 0 ? std::chrono::milliseconds(90'000) : std::chrono::milliseconds(10'000);
    if (!probe.wait_received(k, timeout)) {
      std::fprintf(stderr, "event %zu was not delivered within %lld ms\n", k,
                   static_cast<long long>(timeout.count()));
      return false;
    }
    std::this_thread::sleep_for(opts.pause);
  }
  return true;
}

// ---- floor: INSERT + pg_notify in one autocommit statement, a LISTENing connection ----

class floor_listener : public pqxx::notification_receiver {
public:
  floor_listener(pqxx::connection& conn, latency_probe& probe)
    : pqxx::notification_receiver(conn, "bench_floor"), probe_(probe) {}
  void operator()(const std::string& payload, int) override { probe_.received(std::stoul(payload)); }

private:
  latency_probe& probe_;
};

std::unique_ptr<latency_probe> run_floor(const std::string& url, const run_options& opts, const std::string& table) {
  auto probe = std::make_unique<latency_probe>(warmup + opts.events);
  pqxx::connection listen_conn{url};
  floor_listener listener{listen_conn, *probe}; // LISTEN is sent here, before any NOTIFY
  std::atomic<bool> stop{false};
  std::thread listening{[&] {
    while (!stop)
      listen_conn.await_notification(0, 50'000);
  }};
  pqxx::connection notify_conn{url};
  pqxx::nontransaction{notify_conn}.exec0("CREATE TABLE " + table + " (k bigint)");
  bool ok = drive(*probe, opts, [&](std::size_t k) {
    auto n = std::to_string(k);
    pqxx::nontransaction{notify_conn}.exec("WITH n AS (INSERT INTO " + table + " VALUES (" + n
                                           + ") RETURNING k) SELECT pg_notify('bench_floor', k::text) FROM n");
    return true;
  });
  stop = true;
  listening.join();
  return ok ? std::move(probe) : nullptr;
}

// ---- the store's events: ids that carry their leg and number ----

/// A lowercase UUID holding `leg` and the event number `k`.
std::string event_uuid(unsigned leg, std::size_t k) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012zx", leg, k);
  return buf;
}

/// Feeds a consumed event of `leg` to `probe`; other events are ignored.
void record(latency_probe& probe, unsigned leg, const std::string& id) {
  if (id.size() == 36 && std::stoul(id.substr(0, 8), nullptr, 16) == leg)
    probe.received(std::stoul(id.substr(24), nullptr, 16));
}

std::string payload(std::size_t k) {
  return R"({"k": )" + std::to_string(k) + R"(, "prompt": "add a test for the parser", "repo": "acme/widgets"})";
}

/// Appends event `k` of `leg` to stream "<category>-1"; false (and why) when it fails.
bool append_one(event_store& store, const std::string& category, unsigned leg, std::size_t k) {
  new_event e{event_id{event_uuid(leg, k)}, "bench.consumed", 1, payload(k), {"acme", "bench", "", "", ""}};
  auto r = store.append({stream_id{category + "-1"}, expected_version::any(), {std::move(e)}});
  if (!r)
    std::fprintf(stderr, "append: %s\n", r.err().detail.c_str());
  return r.ok();
}

/// Saves checkpoint `name` at the log's head, so a new follower starts with the next event.
bool start_at_head(event_store& store, checkpoint_store& checkpoints, const std::string& name) {
  auto head = store.head_position();
  return head && checkpoints.save(name, *head).ok();
}

std::unique_ptr<latency_probe> run_embedded(std::shared_ptr<event_store> store,
                                            std::shared_ptr<checkpoint_store> checkpoints, const run_options& opts) {
  const unsigned leg = 1;
  auto probe = std::make_unique<latency_probe>(warmup + opts.events);
  if (!start_at_head(*store, *checkpoints, "bench-embedded"))
    return nullptr;
  log_consumer_options lo;
  lo.name = "bench-embedded";
  auto consumer = make_log_consumer(store, checkpoints, lo, [&](const consumed_event& c) {
    record(*probe, leg, c.event.id.str());
    return result<void>{};
  });
  if (!consumer) {
    std::fprintf(stderr, "log consumer: %s\n", consumer.err().detail.c_str());
    return nullptr;
  }
  bool ok = drive(*probe, opts, [&](std::size_t k) { return append_one(*store, "benchembedded", leg, k); });
  (*consumer)->stop();
  return ok ? std::move(probe) : nullptr;
}

/// A member of a new consumer group on topic "aetherium.<category>", feeding `probe`.
result<std::unique_ptr<event_consumer>> join_group(const std::string& brokers, const std::string& category,
                                                   latency_probe& probe, unsigned leg) {
  kafka_event_consumer_options co;
  co.group_id = "bench-" + category;
  co.topics = {"aetherium." + category};
  co.client_id = "bench-consumer";
  return make_kafka_event_consumer(brokers, co, [&probe, leg](const consumed_event& c) {
    record(probe, leg, c.event.id.str());
    return result<void>{};
  });
}

/// A stream category (so a topic) of its own for each Kafka leg.
std::string kafka_category(unsigned leg) {
  return "benchkafka" + std::to_string(leg) + "x" + std::to_string(std::random_device{}() % 100000);
}

/// The bus alone: events published straight to Kafka (linger 0) and read by a group member.
std::unique_ptr<latency_probe> run_bus_floor(const std::string& brokers, const run_options& opts) {
  const unsigned leg = 2;
  auto probe = std::make_unique<latency_probe>(warmup + opts.events);
  auto category = kafka_category(leg);
  kafka_event_publisher_options po;
  po.linger = std::chrono::milliseconds(0);
  auto publisher = make_kafka_event_publisher(brokers, po);
  auto consumer = join_group(brokers, category, *probe, leg);
  if (!publisher || !consumer) {
    std::fprintf(stderr, "kafka: %s\n", (publisher ? consumer.err() : publisher.err()).detail.c_str());
    return nullptr;
  }
  std::string prev;
  bool ok = drive(*probe, opts, [&](std::size_t k) {
    recorded_event e;
    e.id = event_id{event_uuid(leg, k)};
    e.stream = stream_id{category + "-1"};
    e.stream_version = e.position = static_cast<std::int64_t>(k) + 1;
    e.type = "bench.consumed";
    e.payload = *canonical_json(payload(k));
    e.metadata = {"acme", "bench", "", "", ""};
    e.recorded_at_us = 1'700'000'000'000'000;
    e.prev_hash = prev;
    e.hash = prev = chain_hash(e.prev_hash, e);
    (*publisher)->publish(e, [](result<void>) {});
    return true;
  });
  (*consumer)->stop();
  return ok ? std::move(probe) : nullptr;
}

/// The store, the relay (its publisher lingering `linger`), Kafka, a group member.
std::unique_ptr<latency_probe> run_kafka(caf::actor_system& sys, std::shared_ptr<event_store> store,
                                         std::shared_ptr<checkpoint_store> checkpoints, const std::string& brokers,
                                         std::chrono::milliseconds linger, unsigned leg, const run_options& opts) {
  auto probe = std::make_unique<latency_probe>(warmup + opts.events);
  auto category = kafka_category(leg);
  auto relay_name = "bench-relay-" + category;
  if (!start_at_head(*store, *checkpoints, relay_name))
    return nullptr;
  auto relay = actors::spawn_relay(sys, store, checkpoints, [brokers, linger]() -> std::shared_ptr<event_publisher> {
    kafka_event_publisher_options po;
    po.linger = linger;
    auto p = make_kafka_event_publisher(brokers, po);
    return p ? *p : nullptr;
  }, relay_name);
  if (!relay)
    return nullptr;
  auto consumer = join_group(brokers, category, *probe, leg);
  bool ok = false;
  if (consumer) {
    ok = drive(*probe, opts, [&](std::size_t k) { return append_one(*store, category, leg, k); });
    (*consumer)->stop();
  } else {
    std::fprintf(stderr, "kafka consumer: %s\n", consumer.err().detail.c_str());
  }
  caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
  return ok ? std::move(probe) : nullptr;
}

std::vector<double> joined(const latency_probe& a, const latency_probe& b) {
  auto out = a.delivery_ms(warmup);
  auto more = b.delivery_ms(warmup);
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

int run(const std::string& admin, const std::string& brokers, const run_options& opts) {
  auto url = bench::fresh_database(admin, "bench_consumer");
  auto store = bench::open_store(url);
  auto checkpoints = make_postgres_checkpoint_store(url);
  if (!checkpoints) {
    std::fprintf(stderr, "checkpoints: %s\n", checkpoints.err().detail.c_str());
    return 1;
  }
  actors::system_config caf_cfg;
  caf::actor_system sys{caf_cfg};

  auto floor_before = run_floor(url, opts, "floor_before");
  auto embedded = floor_before ? run_embedded(store, *checkpoints, opts) : nullptr;
  std::unique_ptr<latency_probe> bus, kafka_5, kafka_0;
  bool with_kafka = brokers != "-";
  if (embedded && with_kafka)
    bus = run_bus_floor(brokers, opts);
  if (bus)
    kafka_5 = run_kafka(sys, store, *checkpoints, brokers, std::chrono::milliseconds(5), 3, opts);
  if (kafka_5)
    kafka_0 = run_kafka(sys, store, *checkpoints, brokers, std::chrono::milliseconds(0), 4, opts);
  auto floor_after = embedded && (!with_kafka || kafka_0) ? run_floor(url, opts, "floor_after") : nullptr;
  if (!floor_after)
    return 1;

  std::printf("event committed -> handler called, ms; %zu events one at a time, %lld ms apart "
              "(after %zu untimed)\n", opts.events, static_cast<long long>(opts.pause.count()), warmup);
  std::printf("%-44s %5s %8s %8s %8s   %6s  %6s\n", "leg", "n", "p50", "p99", "max", "p50/fl", "p99/fl");
  auto floor = summarize(joined(*floor_before, *floor_after));
  bench::print_row("floor: INSERT+pg_notify -> LISTEN, before", summarize(floor_before->delivery_ms(warmup)), nullptr);
  bench::print_row("floor: INSERT+pg_notify -> LISTEN, after", summarize(floor_after->delivery_ms(warmup)), nullptr);
  bench::print_row("floor: both", floor, nullptr);
  bench::print_row("(store append returned, embedded leg)", summarize(embedded->write_ms(warmup)), &floor);
  bench::print_row("embedded: append -> log consumer", summarize(embedded->delivery_ms(warmup)), &floor);
  if (with_kafka) {
    bench::print_row("floor: kafka publish (linger 0) -> member", summarize(bus->delivery_ms(warmup)), &floor);
    bench::print_row("kafka: append -> relay -> group member", summarize(kafka_5->delivery_ms(warmup)), &floor);
    bench::print_row("kafka, publisher linger.ms=0", summarize(kafka_0->delivery_ms(warmup)), &floor);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s '<admin conninfo>' '<kafka brokers or ->' [events] [pause ms]\n", argv[0]);
    return 2;
  }
  run_options opts;
  if (argc > 3)
    opts.events = std::strtoul(argv[3], nullptr, 10);
  if (argc > 4)
    opts.pause = std::chrono::milliseconds(std::strtol(argv[4], nullptr, 10));
  try {
    return run(argv[1], argv[2], opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_consumer: %s\n", e.what());
    return 1;
  }
}
