#include "actors/task_run_steps.hpp"

#include <chrono>
#include <future>
#include <iostream>
#include <set>

#include "events/logger.hpp"
#include "events/read_model/task_requests.hpp"

namespace aetherium::actors {

namespace {

using domain::failure_reason;
using domain::task_status;

/// The state of one run as it goes through its steps.
class task_run {
public:
  task_run(run_host& host, const execution_ports& ports, const execution_options& options, std::string id)
    : host_(host), ports_(ports), opts_(options), id_(std::move(id)) {}

  void run(const node_id& node, run_mode mode);

private:
  std::int64_t now() { return ports_.time->now_us(); }
  std::string dir(const char* suffix = "") const { return opts_.workspace_root + "/" + id_ + suffix; }
  void say(const std::string& line) { (void)ports_.logs->append(task_id{id_}, "system", line + "\n"); }

  /// Sends a command; false when refused (and then the run is over: finish() was called).
  /// The server's stop is not checked here: what a step records has happened already.
  bool step(domain::task_command cmd) {
    auto s = host_.command(id_, std::move(cmd), md_);
    if (s) {
      state_ = *s;
      return true;
    }
    state_ = host_.last_state();
    if (s.err().code == errc::unavailable) // the server stopped while the store was down
      finish(false);
    else if (state_.status == task_status::cancel_requested)
      terminate();
    else if (!domain::is_terminal(state_.status))
      fail(failure_reason::sandbox_error, "the task refused a step: " + s.err().detail);
    else
      finish();
    return false;
  }

  /// Runs `f` (a blob store call) until the store answers, waiting with backoff while it
  /// is unavailable; gives up only when the server stops.
  template <class F>
  auto persist(const char* what, F f) -> decltype(f()) {
    bool said = false;
    for (std::chrono::milliseconds pause{200};; pause = std::min(pause * 2, std::chrono::milliseconds{5000})) {
      auto r = f();
      if (r || r.err().code != errc::unavailable)
        return r;
      if (!said) {
        say(std::string{"storing "} + what + " failed (" + r.err().detail + "); retrying until the store is back");
        log(log_level::warn, "blob store unavailable, retrying",
            {{"task_id", id_}, {"tenant", md_.tenant}, {"step", what}, {"error", r.err().detail}});
      }
      said = true;
      if (!host_.wait(pause))
        return r;
    }
  }

  void fail(failure_reason reason, const std::string& text) {
    if (host_.interrupted())
      return interrupt();
    if (host_.last_state().status == task_status::cancel_requested || host_.cancel_pending())
      return terminate();
    auto detail = redacted(text);
    // Said once stored: the log never tells an end the task's events do not hold.
    auto failed = host_.command(id_, domain::fail_task{reason, detail, now()}, md_);
    if (failed)
      say(std::string{"failed ("} + domain::to_string(reason) + "): " + detail);
    finish(failed.ok() || failed.err().code != errc::unavailable);
  }

  /// The server is stopping: a task not yet placed stays requested (the next start runs
  /// it), one whose agent's output is stored stays as it is (the next start resumes it),
  /// any other is failed with the reason, its sandbox being gone already.
  void interrupt() {
    auto status = host_.last_state().exists ? host_.last_state().status : state_.status;
    if (status == task_status::requested || domain::is_terminal(status))
      return finish(domain::is_terminal(status));
    if (resumable(status)) {
      say(std::string{"the server is stopping: the task resumes from "} + domain::to_string(status) + " at its next start");
      return finish(false);
    }
    auto why = not_resumed(status, "was stopped");
    auto failed = host_.command(id_, domain::fail_task{failure_reason::control_plane_restart, why, now()}, md_);
    if (failed)
      say("failed (control_plane_restart): " + why);
    finish(failed.ok());
  }

  static std::string not_resumed(task_status status, const char* what) {
    return std::string{"the server "} + what + " while the task was " + domain::to_string(status)
           + (status == task_status::scheduled ? ": its agent had not started, and the task is not run twice"
                                               : ": its agent's sandbox did not survive, and a half-run agent is not resumed");
  }

  void terminate() {
    if (host_.interrupted())
      return interrupt();
    // A cancel may still be on its way to the task's actor: ask for it, then terminate.
    (void)host_.command(id_, domain::cancel_task{"runner", now()}, md_);
    say("terminated on request");
    (void)host_.command(id_, domain::terminate_task{now()}, md_);
    finish();
  }

  /// Ends the run; `close_log` false leaves the task's log open for a run that resumes it.
  void finish(bool close_log = true) {
    if (workspace_.valid())
      (void)finish_checkout();
    host_.release(id_);
    if (close_log)
      ports_.logs->close(task_id{id_});
    if (!opts_.keep_workspaces) {
      ports_.workspaces->release(dir());
      ports_.workspaces->release(dir("-verify"));
    }
  }

  /// `text` with every secret value of the task replaced: what the agent or the verify
  /// command printed may hold one (copied into a file, say), and events are forever.
  std::string redacted(std::string text) const {
    for (const auto& secret : secret_values_) {
      if (secret.empty())
        continue;
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 10))
        text.replace(at, secret.size(), "[REDACTED]");
    }
    return text;
  }

  result<node_id> place();
  /// A follow-up's pull request conversation, for its agent; "" for other tasks, or when
  /// the code host cannot tell it (the run goes on without it).
  std::string conversation();
  bool checkout(const std::string& ref, const std::string& into, std::string& commit);
  /// Makes the (empty, bounded) workspace and fills it on a thread of its own while the
  /// agent's sandbox starts: `job.ready` waits for it. False when the task failed already.
  bool start_checkout(sandbox_job& job, task_files files);
  /// Waits for the checkout (stopping it when it is still running) and returns its commit.
  result<std::string> finish_checkout();
  sandbox_spec sandbox_for(const std::string& workspace, bool with_agent_access, std::string& missing);
  bool run_agent();
  /// For a follow-up whose parent ran the same CLI: the parent's session files, added to
  /// `home`, and the id to resume; "" when there is none.
  std::string resumed_session(const agent_template& agent, std::map<std::string, std::string>& home);
  /// Stores the CLI's session files (read from the workspace as data) with the output.
  void keep_session(domain::task_output& out);
  static constexpr std::size_t max_session_bytes = 16u << 20;
  /// Opens the task's model gateway session when it names providers, and points the
  /// sandbox and the agent's command at it. False when the task was failed.
  bool open_gateway(sandbox_job& job, std::unique_ptr<models::gateway_session>& session, model_poster posts);
  bool collect();
  /// Verifies (when asked), then ends the run: the code-host loop publishes what the
  /// events say is ready (see code_host_loop), and completes the task.
  void conclude();
  /// Goes on with a task whose agent's output a previous process stored: verifies it when
  /// that is still to do; anything after verification is the code-host loop's.
  void resume();
  bool verify();

  run_host& host_;
  const execution_ports& ports_;
  const execution_options& opts_;
  std::string id_;
  node_id node_; ///< Where its sandboxes run: the node its placement chose.
  node_id home_; ///< The node of this process (where the model gateway is).
  std::string lost_before_start_; ///< Set when the node was lost before the agent started.
  event_metadata md_;
  domain::task_state state_;
  std::string base_commit_;
  change_set changes_;
  std::string output_tail_;
  std::vector<std::string> secret_values_; ///< Hidden from every event field.
  std::shared_future<result<std::string>> workspace_; ///< The agent's checkout, once started.
  std::shared_ptr<std::atomic<bool>> checkout_stop_;
  std::int64_t started_us_ = 0;
  int exit_code_ = 0;
  bool verified_ = false;
};

std::string tail_of(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

std::pair<std::uint32_t, std::uint32_t> count_lines(const std::string& patch) {
  std::uint32_t plus = 0, minus = 0;
  std::size_t at = 0;
  while (at < patch.size()) {
    auto end = patch.find('\n', at);
    auto line = patch.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.rfind("+++", 0) != 0 && line.rfind("+", 0) == 0)
      ++plus;
    else if (line.rfind("---", 0) != 0 && line.rfind("-", 0) == 0)
      ++minus;
    if (end == std::string::npos)
      break;
    at = end + 1;
  }
  return {plus, minus};
}

} // namespace

void task_run::run(const node_id& node, run_mode mode) {
  auto loaded = host_.load(id_);
  if (!loaded || !loaded->exists || domain::is_terminal(loaded->status))
    return;
  state_ = *loaded;
  home_ = node;
  md_.tenant = state_.tenant.str();
  md_.principal = "node:" + node.str();
  if (state_.status == task_status::cancel_requested)
    return terminate();
  if (mode == run_mode::recover && state_.status != task_status::requested) {
    if (resumable(state_.status))
      return resume();
    return fail(failure_reason::control_plane_restart, not_resumed(state_.status, "restarted"));
  }
  auto placed = place();
  if (host_.interrupted())
    return interrupt();
  if (!placed)
    return fail(failure_reason::no_capacity, placed.err().detail);
  node_ = *placed;
  if (!step(domain::schedule_task{*placed, now()}))
    return;
  say("scheduled on node " + placed->str());
  for (std::uint32_t retries = 0; !run_agent(); ++retries) {
    if (lost_before_start_.empty())
      return;
    auto why = std::exchange(lost_before_start_, {});
    if (retries >= state_.spec.node_loss_retries)
      return fail(failure_reason::node_lost, why);
    // The scheduler moves the placement off the lost node once it hears of the loss, which
    // may come a moment after this run did: until then it answers with the lost node.
    auto again = place();
    for (int waits = 0; again && *again == node_ && waits < 20 && host_.wait(std::chrono::milliseconds(250)); ++waits)
      again = place();
    if (host_.interrupted())
      return interrupt();
    if (!again)
      return fail(failure_reason::node_lost, why + "; no other node has room: " + again.err().detail);
    if (*again == node_)
      return fail(failure_reason::node_lost, why);
    node_ = *again;
    if (!step(domain::schedule_task{node_, now()}))
      return;
    say(why + "; the agent had not started: scheduled again on node " + node_.str());
  }
  if (!collect())
    return;
  conclude();
}

void task_run::conclude() {
  if (!state_.spec.verify_command.empty()) {
    if (host_.interrupted())
      return interrupt();
    if (!verify())
      return;
  }
  say(changes_.files.empty() && state_.spec.verify_command.empty() ? "the run is over" : "the run is over; publishing");
  finish(false); // the code-host loop tells the end and closes the log
}

void task_run::resume() {
  auto status = state_.status;
  if (status == task_status::verification_failed && !state_.spec.open_pr_on_failed_verification)
    return fail(failure_reason::verification_failed, "the verify command failed");
  if (status != task_status::output_collected || state_.spec.verify_command.empty())
    return finish(false); // published by the code-host loop
  say(std::string{"resuming after a restart from "} + domain::to_string(status));
  if (!state_.output)
    return fail(failure_reason::control_plane_restart, "no output of the agent is recorded to resume from");
  auto placed = place(); // the verification's sandbox counts against the node again
  if (host_.interrupted())
    return interrupt();
  if (!placed)
    return fail(failure_reason::no_capacity, placed.err().detail);
  node_ = *placed;
  base_commit_ = state_.output->base_commit;
  exit_code_ = state_.output->exit_code;
  if (!state_.output->patch_ref.empty()) {
    // The change is rebuilt from the stored patch over a fresh checkout of its base.
    auto patch = persist("the patch", [&] { return ports_.blobs->get(state_.output->patch_ref); });
    if (!patch)
      return fail(failure_reason::workspace_error, "the stored patch cannot be read: " + patch.err().detail);
    std::string commit;
    if (!checkout(base_commit_, dir("-resume"), commit))
      return;
    auto rebuilt = ports_.workspaces->replay(dir("-resume"), base_commit_, *patch);
    ports_.workspaces->release(dir("-resume"));
    if (!rebuilt)
      return fail(failure_reason::workspace_error, rebuilt.err().detail);
    changes_ = std::move(*rebuilt);
  }
  conclude();
}

std::string task_run::conversation() {
  if (!state_.parent || !ports_.conversations)
    return {};
  auto parent = host_.load(state_.parent->str());
  if (!parent || !parent->pr)
    return {};
  auto text = ports_.conversations->conversation(read_model::code_host_repo(parent->spec.repo), parent->pr->number);
  if (!text) {
    say("the pull request's conversation could not be read (" + text.err().detail + "); the agent starts without it");
    return {};
  }
  return *text;
}

result<node_id> task_run::place() {
  return host_.place(placement_for(state_, ports_, home_));
}

bool task_run::checkout(const std::string& ref, const std::string& into, std::string& commit) {
  ports_.workspaces->release(into);
  say("checking out " + state_.spec.repo + " at " + ref);
  checkout_request request{state_.spec.repo, ref, into, state_.tenant, state_.spec.limits.disk_bytes,
                           std::chrono::steady_clock::now() + std::chrono::seconds(state_.spec.budgets.max_seconds),
                           [this] { return host_.cancel_pending(); }};
  auto c = ports_.workspaces->checkout(request);
  if (!c) {
    fail(failure_reason::workspace_error, c.err().detail);
    return false;
  }
  commit = *c;
  return true;
}

bool task_run::start_checkout(sandbox_job& job, task_files files) {
  ports_.workspaces->release(dir());
  say("checking out " + state_.spec.repo + " at " + state_.spec.base_ref);
  checkout_stop_ = job.cancelled;
  checkout_request request{state_.spec.repo, state_.spec.base_ref, dir(), state_.tenant, state_.spec.limits.disk_bytes,
                           std::chrono::steady_clock::now() + std::chrono::seconds(state_.spec.budgets.max_seconds),
                           [stop = checkout_stop_] { return stop->load(); }};
  if (auto made = ports_.workspaces->prepare(request); !made) {
    fail(failure_reason::workspace_error, made.err().detail);
    return false;
  }
  workspace_ = std::async(std::launch::async, [ws = ports_.workspaces, request, files]() -> result<std::string> {
                 try {
                   auto commit = ws->checkout(request);
                   if (!commit)
                     return commit;
                   if (auto written = ws->write_task_files(request.dir, files); !written)
                     return written.err();
                   return commit;
                 } catch (const std::exception& e) {
                   return make_error(errc::internal, std::string{"checkout: "} + e.what());
                 }
               }).share();
  job.ready = [pending = workspace_] { return pending.get().ok(); };
  return true;
}

result<std::string> task_run::finish_checkout() {
  if (!workspace_.valid())
    return make_error(errc::internal, "no checkout was started");
  if (workspace_.wait_for(std::chrono::seconds(0)) != std::future_status::ready && checkout_stop_)
    *checkout_stop_ = true; // nobody waits for it any more
  return workspace_.get();
}

sandbox_spec task_run::sandbox_for(const std::string& workspace, bool agent_access, std::string& missing) {
  sandbox_spec spec;
  parse_sandbox_runtime_kind(state_.spec.runtime, spec.runtime);
  spec.rootfs_dir = opts_.rootfs;
  spec.workspace_dir = workspace;
  spec.limits.memory_bytes = state_.spec.limits.memory_bytes;
  spec.limits.pids = state_.spec.limits.pids;
  spec.limits.cpu_millis = state_.spec.limits.cpu_millis;
  spec.uid = opts_.sandbox_uid;
  spec.gid = opts_.sandbox_gid;
  spec.labels = {{"task", id_}, {"node", node_.str()}};
  if (!agent_access)
    return spec; // verification: no secrets, no network
  std::set<std::string> hosts{state_.spec.allowed_hosts.begin(), state_.spec.allowed_hosts.end()};
  auto agent = opts_.agents.find(state_.spec.agent_type);
  if (agent != opts_.agents.end()) {
    hosts.insert(agent->second.allowed_hosts.begin(), agent->second.allowed_hosts.end());
    for (auto& name : agent->second.secrets)
      if (auto v = ports_.secrets ? ports_.secrets->get(state_.tenant, name) : make_error(errc::not_found, name))
        spec.secrets[name] = *v;
  }
  for (auto& name : state_.spec.secrets) {
    auto v = ports_.secrets ? ports_.secrets->get(state_.tenant, name) : make_error(errc::not_found, name);
    if (!v)
      missing = name;
    else
      spec.secrets[name] = *v;
  }
  for (auto& [name, value] : spec.secrets)
    secret_values_.push_back(value);
  if (!hosts.empty())
    spec.network = {network_policy::mode::allow_list, {hosts.begin(), hosts.end()}};
  return spec;
}

/// The agent's command, run by a shell that first points each provider's base URL at the
/// gateway (its address is known inside the sandbox only) and then execs the template's argv.
std::vector<std::string> through_gateway(const std::vector<std::string>& providers, std::vector<std::string> argv) {
  std::string exports;
  for (auto& [name, value] : models::agent_environment(providers))
    exports += "export " + name + "=\"" + value + "\"; ";
  std::vector<std::string> out{"/bin/sh", "-c", exports + "exec \"$@\"", "aetherium-agent"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

std::string cents(std::uint64_t microcents) {
  auto whole = std::to_string(microcents / 1'000'000);
  auto frac = std::to_string(microcents % 1'000'000 / 10'000 + 100).substr(1);
  return whole + "." + frac + " cents";
}

bool task_run::open_gateway(sandbox_job& job, std::unique_ptr<models::gateway_session>& session, model_poster posts) {
  auto& providers = state_.spec.model_providers;
  if (providers.empty())
    return true;
  if (!ports_.gateway) {
    fail(failure_reason::sandbox_error, "the task names model providers and this server runs no model gateway");
    return false;
  }
  models::session_spec spec;
  spec.task = id_;
  spec.providers = providers;
  for (auto& p : providers) {
    auto name = p + "_api_key";
    auto key = ports_.secrets ? ports_.secrets->get(state_.tenant, name) : make_error(errc::not_found, name);
    if (!key) {
      fail(failure_reason::sandbox_error, "secret " + name + " is not configured, and the task uses " + p);
      return false;
    }
    spec.keys[p] = *key;
    secret_values_.push_back(*key);
  }
  spec.budget_microcents = saturating_mul(state_.spec.budgets.max_cost_cents, 1'000'000);
  spec.spent_microcents = host_.tree_spend_microcents(state_);
  if (spec.budget_microcents != 0 && spec.spent_microcents >= spec.budget_microcents) {
    fail(failure_reason::budget_exceeded, "the task's tree has spent " + cents(spec.spent_microcents)
                                            + " on models, its cost budget is " + cents(spec.budget_microcents));
    return false;
  }
  spec.on_call = [post = posts.call](const models::call_record& r) {
    post(r);
    return result<void>{};
  };
  spec.on_exhausted = [post = posts.exhausted](const std::string& why) { post(why); };
  auto opened = ports_.gateway->open(std::move(spec));
  if (!opened) {
    fail(failure_reason::sandbox_error, "the model gateway: " + opened.err().detail);
    return false;
  }
  session = std::move(*opened);
  job.spec.gateway_socket = session->socket_path();
  job.argv = through_gateway(providers, std::move(job.argv));
  return true;
}

std::string task_run::resumed_session(const agent_template& agent, std::map<std::string, std::string>& home) {
  if (!state_.parent || agent.session_dir.empty())
    return {};
  auto parent = host_.load(state_.parent->str());
  if (!parent || !parent->output || parent->output->session_ref.empty() || parent->spec.agent_type != agent.name)
    return {};
  auto packed = persist("the agent's session", [&] { return ports_.blobs->get(parent->output->session_ref); });
  auto files = packed ? unpack_agent_files(*packed) : result<std::vector<agent_file>>{packed.err()};
  if (!files) {
    say("the session of task " + state_.parent->str() + " could not be read (" + files.err().detail
        + "); the agent starts a new one");
    return {};
  }
  for (auto& f : *files)
    home[agent.session_dir + "/" + f.name] = std::move(f.content);
  say("the agent resumes its session " + parent->output->session_id + " of task " + state_.parent->str());
  return parent->output->session_id;
}

void task_run::keep_session(domain::task_output& out) {
  auto agent = opts_.agents.find(state_.spec.agent_type);
  if (agent == opts_.agents.end() || agent->second.session_dir.empty())
    return;
  auto& a = agent->second;
  auto files = ports_.workspaces->read_agent_files(dir(), a.session_dir, max_session_bytes);
  if (!files || files->empty())
    return;
  // Only files named like sessions; the newest is the one a follow-up resumes.
  std::vector<agent_file> kept;
  for (auto& f : *files)
    if (f.name.size() > a.session_suffix.size() && f.name.find('/') == std::string::npos
        && f.name.compare(f.name.size() - a.session_suffix.size(), a.session_suffix.size(), a.session_suffix) == 0)
      kept.push_back(std::move(f));
  if (kept.empty())
    return;
  auto id = kept.front().name.substr(0, kept.front().name.size() - a.session_suffix.size());
  if (!agent_command(a, "", id)) // not an id a command may carry
    return;
  auto ref = persist("the agent's session", [&] { return ports_.blobs->put(pack_agent_files(kept)); });
  if (!ref) {
    say("the agent's session could not be stored (" + ref.err().detail + "); a follow-up starts a new one");
    return;
  }
  out.session_ref = *ref;
  out.session_id = id;
}

bool task_run::run_agent() {
  auto agent = opts_.agents.find(state_.spec.agent_type);
  if (agent == opts_.agents.end()) {
    fail(failure_reason::agent_missing, "no agent template named " + state_.spec.agent_type);
    return false;
  }
  auto home_files = agent->second.home_files;
  auto session = resumed_session(agent->second, home_files);
  auto argv = agent_command(agent->second, state_.spec.prompt, session);
  if (!argv) {
    fail(failure_reason::agent_missing, argv.err().detail);
    return false;
  }
  std::string missing;
  sandbox_job job{sandbox_for(dir(), true, missing), *argv, {}, {}, std::chrono::seconds(state_.spec.budgets.max_seconds)};
  if (!missing.empty()) {
    fail(failure_reason::sandbox_error, "secret " + missing + " is not configured");
    return false;
  }
  job.env = agent->second.env;
  job.env["HOME"] = agent_home;
  std::uint64_t log_bytes = 0;
  bool over_budget = false;
  bool refused = false;
  std::string spend_stop; // why the gateway stopped the agent
  sandbox_callbacks cb;
  cb.on_output = [&](output_stream s, const std::string& text) {
    log_bytes += text.size();
    output_tail_ = tail_of(output_tail_ + text, opts_.summary_bytes);
    (void)ports_.logs->append(task_id{id_}, s == output_stream::out ? "stdout" : "stderr", text);
    over_budget = over_budget || log_bytes > state_.spec.budgets.max_log_bytes;
    return !over_budget;
  };
  cb.on_provisioned = [&](const std::string& sandbox_id) {
    refused = !host_.command(id_, domain::record_sandbox{sandbox_id, now(), true}, md_);
    state_ = host_.last_state();
    started_us_ = now();
    if (!refused)
      say("agent " + state_.spec.agent_type + " started in sandbox " + sandbox_id + " (" + state_.spec.runtime + ")");
    return !refused;
  };
  cb.on_model_call = [&](const models::call_record& r) {
    domain::task_model_used used{r.provider, r.model, r.input_tokens, r.output_tokens, r.cost_microcents,
                                 r.priced, r.read, now()};
    if (host_.command(id_, domain::record_model_usage{used}, md_))
      state_ = host_.last_state();
    say("model call: " + r.provider + " " + r.model + ", " + std::to_string(r.input_tokens) + " tokens in, "
        + std::to_string(r.output_tokens) + " out, " + (r.read ? cents(r.cost_microcents) : "usage unreadable"));
    return true;
  };
  cb.on_model_budget = [&](const std::string& why) {
    if (spend_stop.empty())
      spend_stop = why;
    return false;
  };
  std::unique_ptr<models::gateway_session> gateway;
  if (!open_gateway(job, gateway, host_.model_posts(cb)))
    return false;
  // The workspace is filled while the sandbox starts; the agent starts once both are done.
  task_files files{state_.spec.prompt, state_.spec.script, conversation(), std::move(home_files)};
  if (!start_checkout(job, std::move(files)))
    return false;
  auto run = host_.run_sandbox(ports_.sandboxes, std::move(job), cb);
  gateway.reset(); // waits for the calls in flight, whose usage is then posted
  host_.drain_model_posts(cb);
  auto& o = run.outcome;
  auto workspace = finish_checkout();
  if (run.cancelled || host_.cancel_pending() || host_.last_state().status == task_status::cancel_requested) {
    terminate();
    return false;
  }
  if (!spend_stop.empty()) {
    fail(failure_reason::budget_exceeded, "the model gateway stopped the agent: " + spend_stop + " (spent "
                                            + cents(state_.spend.cost_microcents) + " in "
                                            + std::to_string(state_.spend.calls) + " calls)");
    return false;
  }
  if (!workspace) {
    fail(failure_reason::workspace_error, workspace.err().detail);
    return false;
  }
  base_commit_ = *workspace;
  if (!o.ran && is_node_lost(o.failure) && host_.last_state().status == task_status::scheduled) {
    lost_before_start_ = o.failure.detail; // nothing of it ran: run() may place it elsewhere
    return false;
  }
  if (!o.ran) {
    fail(is_node_lost(o.failure) ? failure_reason::node_lost : failure_reason::sandbox_error, o.failure.detail);
    return false;
  }
  exit_code_ = o.status.exit_code;
  auto space = ports_.workspaces->check_space(dir());
  if (!space)
    fail(failure_reason::budget_exceeded, "the workspace filled its disk limit of "
                                            + std::to_string(state_.spec.limits.disk_bytes) + " bytes");
  else if (over_budget)
    fail(failure_reason::budget_exceeded, "the log budget of " + std::to_string(state_.spec.budgets.max_log_bytes) + " bytes ran out");
  else if (o.status.timed_out)
    fail(failure_reason::timeout, "the agent ran past its " + std::to_string(state_.spec.budgets.max_seconds) + " s deadline");
  else if (o.status.oom_killed)
    fail(failure_reason::oom, "the agent ran out of its memory limit");
  else if (o.status.not_executed)
    fail(failure_reason::agent_missing, agent->second.executable + " is not in the sandbox image (or not executable)");
  else if (o.status.exit_code != 0)
    fail(failure_reason::agent_failed, "the agent exited with status " + std::to_string(o.status.exit_code));
  else
    return !refused;
  return false;
}

bool task_run::collect() {
  auto c = ports_.workspaces->collect(dir(), base_commit_, state_.spec.budgets.max_changed_bytes);
  if (!c) {
    if (c.err().code == errc::invalid_argument)
      fail(failure_reason::budget_exceeded, c.err().detail);
    else
      fail(failure_reason::workspace_error, c.err().detail);
    return false;
  }
  changes_ = std::move(*c);
  for (const auto& left_out : changes_.ignored)
    say("not part of the change: " + left_out);
  domain::task_output out;
  out.files_changed = static_cast<std::uint32_t>(changes_.files.size());
  std::tie(out.insertions, out.deletions) = count_lines(changes_.patch);
  out.changed_bytes = changes_.changed_bytes();
  out.exit_code = exit_code_;
  out.duration_ms = (now() - started_us_) / 1000;
  out.base_commit = base_commit_;
  out.summary = redacted(output_tail_);
  if (!changes_.patch.empty()) {
    auto ref = persist("the patch", [&] { return ports_.blobs->put(changes_.patch); });
    if (!ref) {
      fail(failure_reason::workspace_error, "the patch could not be stored: " + ref.err().detail);
      return false;
    }
    out.patch_ref = *ref;
  }
  keep_session(out);
  say("collected " + std::to_string(out.files_changed) + " changed file(s), +" + std::to_string(out.insertions)
      + " -" + std::to_string(out.deletions));
  return step(domain::collect_output{out, now()});
}

bool task_run::verify() {
  std::string commit;
  if (!checkout(base_commit_, dir("-verify"), commit))
    return false;
  if (auto applied = ports_.workspaces->apply(dir("-verify"), changes_); !applied) {
    fail(failure_reason::workspace_error, applied.err().detail);
    return false;
  }
  std::string missing;
  sandbox_job job{sandbox_for(dir("-verify"), false, missing), {"/bin/sh", "-c", state_.spec.verify_command}, {}, {},
                  std::chrono::seconds(state_.spec.budgets.max_seconds)};
  say("verifying in a fresh sandbox: " + state_.spec.verify_command);
  std::string tail;
  sandbox_callbacks cb;
  cb.on_output = [&](output_stream, const std::string& text) {
    tail = tail_of(tail + text, opts_.verify_tail_bytes);
    return true;
  };
  auto run = host_.run_sandbox(ports_.sandboxes, std::move(job), cb);
  if (run.cancelled || host_.cancel_pending()) {
    terminate();
    return false;
  }
  auto& o = run.outcome;
  if (!o.ran && is_node_lost(o.failure)) {
    fail(failure_reason::node_lost, o.failure.detail);
    return false;
  }
  verified_ = o.ran && o.status.exit_code == 0;
  int code = o.ran ? o.status.exit_code : -1;
  if (!o.ran)
    tail = o.failure.detail;
  if (!step(domain::record_verification{verified_, code, redacted(tail), now()}))
    return false;
  say(std::string{"verification "} + (verified_ ? "passed" : "failed") + " (exit " + std::to_string(code) + ")");
  if (!verified_ && !state_.spec.open_pr_on_failed_verification) {
    fail(failure_reason::verification_failed, "the verify command exited with status " + std::to_string(code));
    return false;
  }
  return true;
}

bool resumable(domain::task_status status) {
  switch (status) {
    case task_status::output_collected:
    case task_status::verification_passed:
    case task_status::verification_failed:
    case task_status::pr_opened:
    case task_status::pr_updated:
      return true;
    default:
      return false;
  }
}

bool needs_placement(const domain::task_state& state, run_mode mode) {
  if (!state.exists)
    return false;
  if (state.status == task_status::requested)
    return true;
  // After a restart only a verification still to run needs a sandbox, so a node.
  return mode == run_mode::recover && state.status == task_status::output_collected && state.output.has_value()
         && !state.spec.verify_command.empty();
}

scheduling::placement_request placement_for(const domain::task_state& state, const execution_ports& ports,
                                            const node_id& home) {
  scheduling::placement_request r{state.id, state.tenant, state.spec.runtime, state.spec.limits.cpu_millis,
                                  state.spec.limits.memory_bytes, {}};
  if (!state.spec.model_providers.empty() && ports.gateway)
    r.only_on = home;
  return r;
}

void run_task(run_host& host, const execution_ports& ports, const execution_options& options, const node_id& node,
              const std::string& id, run_mode mode) {
  task_run{host, ports, options, id}.run(node, mode);
}

} // namespace aetherium::actors
