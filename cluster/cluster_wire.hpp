#pragma once

// What crosses the wire between the control plane and its nodes: plain structs of strings
// and numbers, each with the inspect() CAF serializes it with, and their conversions to and
// from the sandbox port's types. Included only by the cluster's actor .cpp files and tests.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "adapters/sandbox/workspace_tree.hpp"
#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::cluster {

/// The wire protocol's version; a node speaking another is refused at join.
inline constexpr std::uint32_t protocol_version = 1;

/// An error as a value: code 0 means none.
struct wire_error {
  std::int32_t code = 0;
  std::string detail;
  std::string field;
};

/// What a node offers, as it measured it.
struct wire_registration {
  std::uint32_t version = protocol_version;
  std::string node;
  std::uint32_t cpu_millis = 0;
  std::uint64_t memory_bytes = 0;
  std::uint32_t sandbox_slots = 0;
  std::vector<std::string> runtimes;
};

using wire_entry = sandbox::tree_entry;

/// A sandbox to provision. The node puts its own root filesystem and a workspace folder of
/// its own in place of the control plane's paths.
struct wire_spec {
  std::string runtime;
  std::uint64_t memory_bytes = 0;
  std::uint32_t pids = 0;
  std::uint32_t cpu_millis = 0;
  std::uint64_t tmp_bytes = 0;
  std::uint64_t workspace_bytes = 0;
  std::int32_t network = 0; ///< network_policy::mode
  std::vector<std::string> allowed_hosts;
  std::map<std::string, std::string> secrets;
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::map<std::string, std::string> labels;
};

/// One command, with the workspace the sandbox must hold before it starts (when `push`).
struct wire_exec {
  std::string sandbox;
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string stdin_data;
  std::string cwd;
  std::int64_t timeout_ms = -1; ///< -1: no deadline.
  bool push = false;
  std::vector<wire_entry> tree;
};

/// How a command ended, and the workspace after it.
struct wire_exit {
  wire_error error;
  std::int32_t exit_code = -1;
  std::int32_t signal = 0;
  bool oom_killed = false;
  bool timed_out = false;
  bool cancelled = false;
  bool not_executed = false;
  std::vector<wire_entry> tree;
};

/// A sandbox a node holds.
struct wire_sandbox {
  std::string id;
  std::string runtime;
  std::map<std::string, std::string> labels;
  bool running = false;
};

/// The answer to every other request: an error, or what the request asked for.
struct wire_reply {
  wire_error error;
  std::string text;                  ///< provision: the sandbox id; copy_out: the bytes; join: the credential.
  std::vector<std::uint64_t> numbers; ///< stats: memory, cpu ns, pids, oom kills.
  std::vector<wire_sandbox> sandboxes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_error& x) {
  return f(x.code, x.detail, x.field);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_registration& x) {
  return f(x.version, x.node, x.cpu_millis, x.memory_bytes, x.sandbox_slots, x.runtimes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_spec& x) {
  return f(x.runtime, x.memory_bytes, x.pids, x.cpu_millis, x.tmp_bytes, x.workspace_bytes, x.network,
           x.allowed_hosts, x.secrets, x.uid, x.gid, x.labels);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_exec& x) {
  return f(x.sandbox, x.argv, x.env, x.stdin_data, x.cwd, x.timeout_ms, x.push, x.tree);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_exit& x) {
  return f(x.error, x.exit_code, x.signal, x.oom_killed, x.timed_out, x.cancelled, x.not_executed, x.tree);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_sandbox& x) {
  return f(x.id, x.runtime, x.labels, x.running);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_reply& x) {
  return f(x.error, x.text, x.numbers, x.sandboxes);
}

wire_error to_wire(const error& e);
error from_wire(const wire_error& e);
/// An ok reply, or the error.
wire_reply reply_of(const result<void>& r);

wire_spec to_wire(const sandbox_spec& spec);
/// Errors: invalid_argument naming the field (an unknown runtime or network mode).
result<sandbox_spec> from_wire(const wire_spec& spec);

/// `deadline` as milliseconds left (-1 when there is none).
wire_exec to_wire(const std::string& sandbox, const exec_request& request);
/// The request without its output callback; the deadline counted from now.
exec_request from_wire(const wire_exec& request);

wire_exit to_wire(const exit_status& status);
exit_status from_wire(const wire_exit& status);

} // namespace aetherium::cluster

namespace aetherium::sandbox {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tree_entry& x) {
  return f(x.kind, x.path, x.mode, x.bytes);
}
} // namespace aetherium::sandbox
