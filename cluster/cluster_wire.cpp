#include "cluster/cluster_wire.hpp"

#include <chrono>

namespace aetherium::cluster {

wire_error to_wire(const error& e) {
  return {static_cast<std::int32_t>(e.code) + 1, e.detail, e.field};
}

error from_wire(const wire_error& e) {
  auto code = e.code >= 1 && e.code <= static_cast<std::int32_t>(errc::internal) + 1 ? static_cast<errc>(e.code - 1)
                                                                                      : errc::internal;
  return make_error(code, e.detail, e.field);
}

wire_reply reply_of(const result<void>& r) {
  wire_reply out;
  if (!r)
    out.error = to_wire(r.err());
  return out;
}

wire_spec to_wire(const sandbox_spec& spec) {
  wire_spec w;
  w.runtime = to_string(spec.runtime);
  w.memory_bytes = spec.limits.memory_bytes;
  w.pids = spec.limits.pids;
  w.cpu_millis = spec.limits.cpu_millis;
  w.tmp_bytes = spec.limits.tmp_bytes;
  w.workspace_bytes = spec.limits.workspace_bytes;
  w.network = static_cast<std::int32_t>(spec.network.kind);
  w.allowed_hosts = spec.network.allowed_hosts;
  w.secrets = spec.secrets;
  w.uid = spec.uid;
  w.gid = spec.gid;
  w.labels = spec.labels;
  return w;
}

result<sandbox_spec> from_wire(const wire_spec& w) {
  sandbox_spec spec;
  if (!parse_sandbox_runtime_kind(w.runtime, spec.runtime))
    return make_error(errc::invalid_argument, "unknown runtime " + w.runtime, "runtime");
  if (w.network != static_cast<std::int32_t>(network_policy::mode::none)
      && w.network != static_cast<std::int32_t>(network_policy::mode::allow_list))
    return make_error(errc::invalid_argument, "unknown network mode", "network");
  spec.limits = {w.memory_bytes, w.pids, w.cpu_millis, w.tmp_bytes, w.workspace_bytes};
  spec.network = {static_cast<network_policy::mode>(w.network), w.allowed_hosts};
  spec.secrets = w.secrets;
  spec.uid = w.uid;
  spec.gid = w.gid;
  spec.labels = w.labels;
  return spec;
}

wire_exec to_wire(const std::string& sandbox, const exec_request& request) {
  wire_exec w;
  w.sandbox = sandbox;
  w.argv = request.argv;
  w.env = request.env;
  w.stdin_data = request.stdin_data;
  w.cwd = request.cwd;
  if (request.deadline != std::chrono::steady_clock::time_point::max()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(request.deadline - std::chrono::steady_clock::now());
    w.timeout_ms = std::max<std::int64_t>(0, left.count());
  }
  return w;
}

exec_request from_wire(const wire_exec& w) {
  exec_request r;
  r.argv = w.argv;
  r.env = w.env;
  r.stdin_data = w.stdin_data;
  r.cwd = w.cwd;
  if (w.timeout_ms >= 0)
    r.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(w.timeout_ms);
  return r;
}

wire_exit to_wire(const exit_status& s) {
  wire_exit w;
  w.exit_code = s.exit_code;
  w.signal = s.signal;
  w.oom_killed = s.oom_killed;
  w.timed_out = s.timed_out;
  w.cancelled = s.cancelled;
  w.not_executed = s.not_executed;
  return w;
}

exit_status from_wire(const wire_exit& w) {
  exit_status s;
  s.exit_code = w.exit_code;
  s.signal = w.signal;
  s.oom_killed = w.oom_killed;
  s.timed_out = w.timed_out;
  s.cancelled = w.cancelled;
  s.not_executed = w.not_executed;
  return s;
}

} // namespace aetherium::cluster
