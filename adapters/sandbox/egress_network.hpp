#pragma once

#include <string>
#include <vector>

#include "adapters/sandbox/egress_policy.hpp"
#include "events/result.hpp"

namespace aetherium::sandbox {

/// Host programs the allow-list network needs.
struct egress_tools {
  std::string ip;    ///< iproute2 `ip`.
  std::string proxy; ///< aetherium-egress-proxy, which enforces the host list.
  std::string nft;   ///< nftables `nft`, to keep sandboxes off every other host port.
  std::string hosts_file; ///< Non-empty: the proxy resolves names with this file only.
  /// CIDRs the proxy may connect to although not public (see may_connect).
  std::vector<std::string> allowed_private_ranges;
};

/// What a sandbox with an allow-list network uses.
struct egress_setup {
  std::string proxy_url; ///< e.g. "http://169.254.64.1:3128", set as HTTP(S)_PROXY.
  /// e.g. "http://169.254.64.1:3129", relayed to the gateway socket; empty without one.
  std::string gateway_url;
};

/// Path of the network namespace of sandbox `id` (for config.json).
std::string egress_netns_path(const std::string& id);

/// Creates network namespace `id` holding `lo` and `eth0`, one end of a veth pair whose
/// other end is on the host with a /30 from 169.254.64.0/18 and no route beyond it; starts
/// an aetherium-egress-proxy on the host end that admits only `allowed_hosts` (may be empty
/// beside a gateway) at public addresses (and `tools.allowed_private_ranges`), and, when
/// `gateway_socket` is non-empty, relays the host end's gateway port to that socket;
/// installs (once) nftables rules that drop everything the sandbox sends to the host
/// except to the proxy's sockets at its own host end, and all forwarding. IPv6 is never
/// configured. State lives in `egress_root`/`id` and `egress_root`/slots.
/// Errors: unavailable (a tool is missing or failed).
result<egress_setup> setup_egress(const egress_tools& tools, const std::string& id,
                                  const std::string& egress_root,
                                  const std::vector<std::string>& allowed_hosts,
                                  const std::string& gateway_socket = {});

/// Stops the proxy and removes the namespace, the veth pair and the address slot.
/// Safe on partial state and after a restart. Errors: unavailable.
result<void> teardown_egress(const egress_tools& tools, const std::string& id,
                             const std::string& egress_root);

} // namespace aetherium::sandbox
