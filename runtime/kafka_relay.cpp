#include "runtime/kafka_relay.hpp"

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include <caf/all.hpp>

#include "actors/caf_system_config.hpp"
#include "actors/relay.hpp"
#include "adapters/kafka/kafka_event_publisher.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {
volatile std::sig_atomic_t relay_stop = 0;
}

result<caf::actor> spawn_kafka_relay(caf::actor_system& sys, std::shared_ptr<event_store> store, const config& cfg) {
  auto checkpoints = make_postgres_checkpoint_store(cfg.database_url);
  if (!checkpoints)
    return checkpoints.err();
  auto brokers = cfg.kafka_brokers;
  auto relay = actors::spawn_relay(sys, std::move(store), *checkpoints, [brokers]() -> std::shared_ptr<event_publisher> {
    auto p = make_kafka_event_publisher(brokers);
    return p ? *p : nullptr;
  });
  if (!relay)
    return make_error(errc::unavailable, "the Kafka relay could not read its checkpoint");
  return relay;
}

int run_relay(const command_line&, const config& cfg) {
  if (cfg.database_url.empty())
    return usage_error("relay needs --database-url or AETHERIUM_DATABASE_URL");
  if (cfg.kafka_brokers.empty())
    return usage_error("relay needs --kafka-brokers or AETHERIUM_KAFKA_BROKERS");
  auto fail = [](const error& e) {
    std::cerr << "aetherium: " << to_string(e.code) << ": " << e.detail << "\n";
    return exit_failure;
  };
  if (auto m = postgres::migrate_up(cfg.database_url); !m)
    return fail(m.err());
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return fail(store.err());
  actors::system_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  auto relay = spawn_kafka_relay(sys, *store, cfg);
  if (!relay)
    return fail(relay.err());
  std::cout << "aetherium relay publishing to " << cfg.kafka_brokers << std::endl;
  std::signal(SIGINT, [](int sig) { relay_stop = sig; });
  std::signal(SIGTERM, [](int sig) { relay_stop = sig; });
  while (!relay_stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "aetherium relay stopping" << std::endl;
  caf::anon_send_exit(*relay, caf::exit_reason::user_shutdown);
  return exit_ok;
}

} // namespace aetherium::runtime
