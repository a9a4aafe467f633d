#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "events/event_store.hpp"
#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// The relay from `store` to the Kafka brokers of `cfg` (actors/relay.hpp), with its
/// checkpoint in the database of `cfg`. Errors: unavailable (the checkpoint cannot be read).
result<caf::actor> spawn_kafka_relay(caf::actor_system& sys, std::shared_ptr<event_store> store, const config& cfg);

/// `aetherium relay`: only the relay, until SIGINT or SIGTERM. For deployments that run it
/// apart from the API servers (which then run without --kafka-brokers).
int run_relay(const command_line& cmd, const config& cfg);

} // namespace aetherium::runtime
