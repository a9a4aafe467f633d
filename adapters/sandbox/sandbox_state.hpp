#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// What the adapter records on disk about one sandbox, so a restarted control plane can
/// find and reap it. Never holds secret values.
struct sandbox_meta {
  std::string id;
  sandbox_runtime_kind runtime = sandbox_runtime_kind::crun;
  std::map<std::string, std::string> labels;
  std::string cgroup_path;    ///< e.g. "/aetherium/ae-0123456789ab".
  std::string workspace_root; ///< Host directory seen as /workspace.
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::uint32_t pids = 128;   ///< Requested pids limit (RLIMIT_NPROC under runsc).
  bool egress_proxy = false;  ///< An allow-list network with its own namespace and proxy.
  std::string proxy_url;      ///< http://host:port the sandbox reaches the proxy at.
  std::string gateway_socket; ///< Host UNIX socket its proxy relays the gateway port to.
  std::string gateway_url;    ///< http://host:port the sandbox reaches that relay at.
  std::int64_t created_unix = 0;
};

/// A fresh sandbox id: "ae-" and 12 random hex digits (short enough for interface names).
std::string new_sandbox_id();

/// True for strings new_sandbox_id can return: guards paths built from ids read back.
bool valid_sandbox_id(const std::string& id);

/// Writes `dir`/meta.json atomically. Errors: unavailable.
result<void> write_meta(const std::string& dir, const sandbox_meta& meta);

/// Reads `dir`/meta.json. Errors: not_found, corrupt.
result<sandbox_meta> read_meta(const std::string& dir);

} // namespace aetherium::sandbox
