#include "adapters/sandbox/runtime_cli.hpp"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

namespace aetherium::sandbox {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 2000) text.resize(2000);
  return text;
}

} // namespace

process_request runtime_cli::command(std::vector<std::string> args) const {
  process_request request;
  request.argv = {inv_.binary, "--root", inv_.state_root};
  if (inv_.kind == sandbox_runtime_kind::runsc) {
    request.argv.push_back("--platform=ptrace");
    request.argv.push_back(inv_.runsc_netns.empty() ? "--network=none" : "--network=sandbox");
    request.netns_path = inv_.runsc_netns;
  }
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  request.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  return request;
}

result<captured_run> runtime_cli::run(std::vector<std::string> args) const {
  auto request = command(std::move(args));
  request.deadline = std::chrono::steady_clock::now() + inv_.timeout;
  return run_captured(std::move(request));
}

result<void> runtime_cli::run_ok(std::vector<std::string> args) const {
  std::string what = to_string(inv_.kind) + std::string(" ") + args.front();
  auto ran = run(std::move(args));
  if (!ran) return ran.err();
  if (ran->outcome.deadline_reached)
    return make_error(errc::unavailable, what + " timed out");
  if (ran->outcome.exit_code != 0)
    return make_error(errc::unavailable, what + " failed (exit " +
                                             std::to_string(ran->outcome.exit_code) + "): " +
                                             trimmed(ran->err + ran->out));
  return {};
}

result<void> runtime_cli::launch(const std::string& id, const std::string& bundle_dir, int pass_fd) const {
  std::vector<std::string> args = {"run", "--detach", "--bundle", bundle_dir};
  if (pass_fd >= 0) args.push_back("--preserve-fds=1");
  args.push_back(id);
  return set_up("run", std::move(args), pass_fd);
}

result<void> runtime_cli::create(const std::string& id, const std::string& bundle_dir, int pass_fd,
                                 const std::string& pid_file) const {
  std::vector<std::string> args = {"create", "--bundle", bundle_dir, "--pid-file", pid_file};
  if (pass_fd >= 0) args.push_back("--preserve-fds=1");
  args.push_back(id);
  return set_up("create", std::move(args), pass_fd);
}

result<void> runtime_cli::start(const std::string& id) const { return run_ok({"start", id}); }

result<void> runtime_cli::set_up(const char* what, std::vector<std::string> args, int pass_fd) const {
  auto request = command(std::move(args));
  request.pass_fd = pass_fd;
  request.detach_unified_cgroup = inv_.detach_unified_cgroup;
  // runsc (2022) decides "root network namespace" by whether /proc/sys/net/core/rmem_default
  // exists, which on kernels >= 5.x is true in every namespace; hide it so its netstack can
  // take over the sandbox's namespace.
  if (!inv_.runsc_netns.empty()) request.hidden_dirs.push_back("/proc/sys/net/core");
  request.deadline = std::chrono::steady_clock::now() + inv_.timeout;
  auto ran = run_captured(std::move(request));
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0 || ran->outcome.deadline_reached)
    return make_error(errc::unavailable, std::string(to_string(inv_.kind)) + " " + what + " failed (exit " +
                                             std::to_string(ran->outcome.exit_code) + "): " +
                                             trimmed(ran->err + ran->out));
  return {};
}

result<void> runtime_cli::kill(const std::string& id, int sig, bool all) const {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(sig));
  return run_ok(std::move(args));
}

result<void> runtime_cli::remove(const std::string& id) const {
  auto removed = run_ok({"delete", "--force", id});
  if (removed) return {};
  auto ids = list_ids();
  if (ids && std::find(ids->begin(), ids->end(), id) == ids->end()) return {};
  return removed;
}

result<std::string> runtime_cli::status(const std::string& id) const {
  auto ran = run({"state", id});
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0) {
    auto ids = list_ids();
    if (ids && std::find(ids->begin(), ids->end(), id) == ids->end())
      return make_error(errc::not_found, "no container " + id);
    return make_error(errc::unavailable, "state failed: " + trimmed(ran->err));
  }
  auto doc = nlohmann::json::parse(ran->out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("status") || !doc["status"].is_string())
    return make_error(errc::unavailable, "state printed no status: " + trimmed(ran->out));
  return doc["status"].get<std::string>();
}

result<std::vector<std::string>> runtime_cli::list_ids() const {
  auto ran = run({"list", "--quiet"});
  if (!ran) return ran.err();
  if (ran->outcome.exit_code != 0)
    return make_error(errc::unavailable, "list failed: " + trimmed(ran->err));
  std::vector<std::string> ids;
  std::istringstream lines(ran->out);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) ids.push_back(line);
  return ids;
}

process_request runtime_cli::exec(const std::string& id, const std::string& process_file) const {
  return command({"exec", "--process", process_file, id});
}

} // namespace aetherium::sandbox
