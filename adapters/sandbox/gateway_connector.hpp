#pragma once

#include <string>

#include "adapters/sandbox/unique_fd.hpp"
#include "events/result.hpp"

// The part of aetherium-egress-proxy that keeps the user it was started as: a child process
// that connects to the sandbox's gateway socket and hands each connection back over a
// socket pair, so the proxy itself runs as nobody whatever the socket's owner and mode,
// and a proxy taken over by its sandbox still reaches no other socket. The child reads one
// byte per request and nothing else; it exits when the proxy closes its end or dies.

namespace aetherium::sandbox {

/// Forks the connector for `socket_path` (absolute, fits sockaddr_un) and returns the
/// proxy's end of the channel. Call before any thread starts. Errors: unavailable.
result<unique_fd> start_gateway_connector(const std::string& socket_path);

/// A new connection to the gateway socket, from the connector on `channel`; callers must
/// take turns. Errors: unavailable (the connect failed, the detail says why, or the
/// connector is gone).
result<unique_fd> connect_gateway(int channel);

} // namespace aetherium::sandbox
