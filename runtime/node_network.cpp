// The node port's network set-up, shared by `aetherium server` and `aetherium node`.
#include "runtime/node_command.hpp"

#include <memory>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/ssl.h>

#include "cluster/cluster_messages.hpp"

namespace aetherium::runtime {

namespace {

/// Checks that OpenSSL loads the certificate and its key (CAF would only find out at the
/// first connection, and then abort).
result<void> check_tls_files(const node_tls& tls) {
  if (tls.cert.empty() && tls.key.empty() && tls.ca.empty())
    return {};
  if (tls.cert.empty() || tls.key.empty() || tls.ca.empty())
    return make_error(errc::invalid_argument,
                      "the node port needs all of --node-tls-cert, --node-tls-key and --node-ca, or none of them "
                      "(anonymous TLS, loopback only)",
                      "node-tls-cert");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return make_error(errc::invalid_argument, "cannot load the certificate " + tls.cert, "node-tls-cert");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(errc::invalid_argument, "cannot load the key " + tls.key + " (or it does not match the certificate)",
                      "node-tls-key");
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return make_error(errc::invalid_argument, "cannot load the CA certificate " + tls.ca, "node-ca");
  return {};
}

} // namespace

result<std::pair<std::string, std::uint16_t>> host_port(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    return make_error(errc::invalid_argument, "an address is HOST:PORT, not " + address, "join");
  int port = std::atoi(address.c_str() + colon + 1);
  if (port < 0 || port > 65535 || address.find_first_not_of("0123456789", colon + 1) != std::string::npos)
    return make_error(errc::invalid_argument, "bad port in " + address, "join");
  return std::make_pair(address.substr(0, colon), static_cast<std::uint16_t>(port));
}

bool loopback_only(const std::string& listen) {
  auto where = host_port(listen);
  if (!where)
    return false;
  auto& h = where->first;
  return h == "localhost" || h.rfind("127.", 0) == 0 || h == "[::1]" || h == "::1";
}

result<void> prepare_node_network(caf::actor_system_config& cfg, const node_tls& tls, std::uint32_t timeout_seconds) {
  if (auto ok = check_tls_files(tls); !ok)
    return ok;
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  cluster::add_cluster_types(cfg);
  if (!tls.cert.empty()) {
    cfg.set("openssl.certificate", tls.cert);
    cfg.set("openssl.key", tls.key);
    cfg.set("openssl.cafile", tls.ca);
  }
  // Both ends beat, so a peer that froze or was cut off (no FIN ever comes) is dropped.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(timeout_seconds)});
  return {};
}

result<std::uint16_t> publish_node_gateway(const caf::actor& gateway, const std::string& listen) {
  auto where = host_port(listen);
  if (!where)
    return make_error(errc::invalid_argument, "--node-listen must be HOST:PORT, not " + listen, "node-listen");
  auto port = caf::openssl::publish(gateway, where->second, where->first.c_str(), true);
  if (!port)
    return make_error(errc::unavailable, "cannot listen for nodes on " + listen + ": " + caf::to_string(port.error()),
                      "node-listen");
  return *port;
}

} // namespace aetherium::runtime
