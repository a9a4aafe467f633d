#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/fwd.hpp>

#include "events/result.hpp"
#include "runtime/config.hpp"

namespace aetherium::runtime {

/// The TLS files of a process on the node port: its certificate and key, and the cluster
/// CA that signed every peer's. All empty: anonymous TLS (encrypted, not authenticated),
/// allowed only on loopback.
struct node_tls {
  std::string cert, key, ca;
};

/// Loads CAF's network and TLS modules into `cfg` with `tls`, registers the wire types and
/// turns on connection heartbeats (a peer silent for `timeout_seconds` is dropped). Checks
/// that the certificate and key load first. Errors: invalid_argument naming the setting.
result<void> prepare_node_network(caf::actor_system_config& cfg, const node_tls& tls, std::uint32_t timeout_seconds);

/// Publishes `gateway` with TLS on `listen` (HOST:PORT, port 0: any free one); the port.
result<std::uint16_t> publish_node_gateway(const caf::actor& gateway, const std::string& listen);

/// Splits HOST:PORT. Errors: invalid_argument (field "join").
result<std::pair<std::string, std::uint16_t>> host_port(const std::string& address);

/// Whether a HOST:PORT listens only on loopback.
bool loopback_only(const std::string& listen);

/// `aetherium node --join ...` (run this host's sandboxes for a control plane) and
/// `aetherium node list|drain|undrain|remove` (over the HTTP API).
int run_node(const command_line& cmd, const config& cfg);

} // namespace aetherium::runtime
