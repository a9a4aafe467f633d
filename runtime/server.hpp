#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "events/api/api_types.hpp"
#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// A running control plane with its local node: event store, actors, projections, the
/// execution plane, the HTTP API, and (when configured) the Kafka relay.
class server {
public:
  virtual ~server() = default;
  /// The port the HTTP API listens on.
  virtual std::uint16_t port() const = 0;
  /// The port nodes connect to; 0 without --node-listen.
  virtual std::uint16_t node_port() const = 0;
  /// Creates an API key in-process (what `aetherium admin create-key` does over the log).
  virtual result<std::string> issue_key(const tenant_id& tenant, api::role role, const std::string& name) = 0;
  /// Stops accepting requests, interrupts running tasks (each records why it ends, its
  /// sandbox destroyed; a task not yet placed stays requested for the next start), waits
  /// for them up to 8 s, then stops the actors. False when some task was still busy then.
  virtual bool stop() = 0;
};

/// Starts everything `cfg` describes: migrates the database, replays the log into the read
/// models, reconciles tasks a previous process left behind, then serves.
/// Errors: invalid_argument (a setting), unavailable (PostgreSQL, the sandbox runtime, the
/// port), each with what to fix.
result<std::unique_ptr<server>> start_server(const config& cfg);

/// `aetherium server`: starts, prints where it listens, serves until SIGINT or SIGTERM.
int run_server(const command_line& cmd, const config& cfg);

} // namespace aetherium::runtime
