// The per-command half of oci_sandbox_runtime: exec, signals, cancel, file copies.
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/oci_bundle.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"
#include "adapters/sandbox/output_redactor.hpp"
#include "adapters/sandbox/spec_checks.hpp"
#include "adapters/sandbox/workspace_files.hpp"

namespace aetherium::sandbox {
namespace {


/// Marks one exec as running on a sandbox for as long as it lives.
class exec_guard {
public:
  explicit exec_guard(live_sandbox& box) : box_(box) {}
  ~exec_guard() {
    std::lock_guard<std::mutex> lock(box_.mu);
    --box_.active_execs;
    box_.idle.notify_all();
  }
  exec_guard(const exec_guard&) = delete;
  exec_guard& operator=(const exec_guard&) = delete;

private:
  live_sandbox& box_;
};

exit_status to_exit_status(const process_outcome& outcome) {
  exit_status status;
  status.exit_code = outcome.exit_code;
  status.signal = outcome.signal;
  // The runtimes report a command killed by signal N as exit status 128 + N.
  if (status.signal == 0 && status.exit_code > 128 && status.exit_code < 128 + 65)
    status.signal = status.exit_code - 128;
  status.timed_out = outcome.deadline_reached;
  return status;
}

} // namespace

result<std::string> oci_sandbox_runtime::write_process_file(live_sandbox& box,
                                                            const exec_request& request) {
  std::uint64_t n;
  {
    std::lock_guard<std::mutex> lock(box.mu);
    n = ++box.exec_counter;
  }
  process_params params;
  params.runtime = box.meta.runtime;
  params.argv = request.argv;
  params.env = sandbox_environment(request, box.meta.proxy_url, box.meta.gateway_url);
  params.cwd = request.cwd;
  params.uid = box.meta.uid;
  params.gid = box.meta.gid;
  params.pids = box.meta.pids;
  std::string path = sandbox_dir(box.meta.id) + "/exec-" + std::to_string(n) + ".json";
  std::string text;
  if (!to_json_text(make_process(params), text))
    return make_error(errc::invalid_argument, "argv, env and cwd must be UTF-8", "argv");
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return make_error(errc::unavailable, "cannot write " + path);
  return path;
}

result<exit_status> oci_sandbox_runtime::exec(const sandbox_handle& handle,
                                              const exec_request& request) {
  if (auto valid = validate_request(request); !valid) return valid.err();
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  {
    std::lock_guard<std::mutex> lock(box->mu);
    if (box->killed)
      return make_error(errc::invalid_transition, "sandbox " + handle.id + " was killed");
    ++box->active_execs;
  }
  exec_guard guard(*box);
  std::uint64_t oom_before = read_oom_kills(layout_, box->meta.cgroup_path);
  output_redactor redactor(box->secret_values, request.on_output);
  process_request run;
  run.stdin_data = request.stdin_data;
  run.deadline = request.deadline;
  run.on_output = [&redactor](output_stream which, std::string_view chunk) {
    redactor.write(which, chunk);
  };
  run.on_deadline = [this, &box] { kill_all(*box); };
  int spawn_errno = 0, exec_errno = 0;
  auto outcome = box->channel ? run_via_init(*box, request, run, spawn_errno, exec_errno) : run_via_cli(*box, request, run);
  redactor.flush();
  if (!outcome) return outcome.err();
  if (spawn_errno != 0)
    return make_error(errc::unavailable, std::string("the sandbox could not start a process: ") +
                                             std::strerror(spawn_errno));
  exit_status status = to_exit_status(*outcome);
  status.not_executed = exec_errno != 0;
  status.oom_killed = read_oom_kills(layout_, box->meta.cgroup_path) > oom_before;
  // An OOM can take the whole sandbox down (under runsc the sentry is the biggest
  // process), and a runtime reporting its own failure exits >= 125: check it still lives.
  if (status.oom_killed || status.exit_code >= 125) {
    auto state = box->cli.status(box->meta.id);
    if (!state || *state != "running") {
      std::lock_guard<std::mutex> lock(box->mu);
      box->killed = true;
    }
  }
  std::lock_guard<std::mutex> lock(box->mu);
  status.cancelled = box->cancelled && !status.timed_out;
  return status;
}

result<process_outcome> oci_sandbox_runtime::run_via_init(live_sandbox& box, const exec_request& request,
                                                          process_request& run, int& spawn_errno,
                                                          int& exec_errno) {
  init_protocol::command cmd{request.cwd, request.argv, sandbox_environment(request, box.meta.proxy_url, box.meta.gateway_url)};
  auto started = box.channel->start(cmd, !request.stdin_data.empty());
  if (!started) return started.err();
  return run_attached(*started, run, [this, &box] { kill_all(box); },
                      [&spawn_errno, &exec_errno](int session) {
                        return init_channel::read_reply(session, spawn_errno, exec_errno);
                      });
}

result<process_outcome> oci_sandbox_runtime::run_via_cli(live_sandbox& box, const exec_request& request,
                                                         process_request& run) {
  auto file = write_process_file(box, request);
  if (!file) return file.err();
  auto cli_run = box.cli.exec(box.meta.id, *file);
  cli_run.stdin_data = std::move(run.stdin_data);
  cli_run.deadline = run.deadline;
  cli_run.on_output = std::move(run.on_output);
  cli_run.on_deadline = std::move(run.on_deadline);
  pid_t client = -1;
  cli_run.on_pid = [&box, &client](pid_t pid) {
    std::lock_guard<std::mutex> lock(box.mu);
    if (pid > 0) box.exec_clients.insert(client = pid);
    else box.exec_clients.erase(client);
  };
  auto outcome = run_process(cli_run);
  std::remove(file->c_str());
  return outcome;
}

void oci_sandbox_runtime::kill_all(live_sandbox& box) {
  std::set<pid_t> clients;
  {
    std::lock_guard<std::mutex> lock(box.mu);
    box.killed = true;
    clients = box.exec_clients;
  }
  // Killing the init ends its pid namespace: the kernel kills every other process in it.
  (void)box.cli.kill(box.meta.id, SIGKILL, false);
  for (pid_t pid : clients) ::kill(pid, SIGKILL);
}

result<void> oci_sandbox_runtime::cancel(const sandbox_handle& handle) {
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  {
    std::lock_guard<std::mutex> lock(box->mu);
    box->cancelled = true;
  }
  kill_all(*box);
  return {};
}

result<void> oci_sandbox_runtime::signal(const sandbox_handle& handle, int sig) {
  if (sig <= 0 || sig >= NSIG)
    return make_error(errc::invalid_argument, "no such signal", "sig");
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  if (sig == SIGKILL) {
    kill_all(*box);
    return {};
  }
  return box->cli.kill(box->meta.id, sig, true);
}

result<void> oci_sandbox_runtime::copy_in(const sandbox_handle& handle, const std::string& path,
                                          std::string_view bytes, std::uint32_t mode) {
  auto relative = workspace_relative(path);
  if (!relative) return relative.err();
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  return write_beneath(box->meta.workspace_root, *relative, bytes, mode, box->meta.uid,
                       box->meta.gid);
}

result<std::string> oci_sandbox_runtime::copy_out(const sandbox_handle& handle,
                                                  const std::string& path,
                                                  std::uint64_t max_bytes) {
  auto relative = workspace_relative(path);
  if (!relative) return relative.err();
  auto box = find(handle.id);
  if (!box) return make_error(errc::not_found, "no sandbox " + handle.id, "handle");
  return read_beneath(box->meta.workspace_root, *relative, max_bytes);
}

} // namespace aetherium::sandbox
