#include "actors/code_host_loop.hpp"

#include <algorithm>
#include <chrono>

#include "events/integrations/failpoint.hpp"
#include "events/logger.hpp"
#include "events/read_model/task_requests.hpp"

namespace aetherium::actors {

using domain::task_status;

namespace {

std::string first_line(const std::string& text, std::size_t max) {
  auto line = text.substr(0, text.find('\n'));
  return line.size() > max ? line.substr(0, max - 3) + "..." : line;
}

/// Whether the run of `task` has ended with output that waits to be published.
bool ready_to_publish(const domain::task_state& task) {
  switch (task.status) {
    case task_status::verification_passed: return true;
    case task_status::verification_failed: return task.spec.open_pr_on_failed_verification;
    case task_status::output_collected: return task.spec.verify_command.empty();
    default: return false;
  }
}

/// Whether a cancel of `task` arrived after its run ended: nobody else ends it then.
bool cancelled_after_its_run(const domain::task_state& task) {
  return task.status == task_status::cancel_requested
         && (task.verification_passed.has_value() || (task.output && task.spec.verify_command.empty()));
}

/// Errors that trying again may cure.
bool transient(const error& e) { return e.code == errc::unavailable; }

} // namespace

std::string task_commit_marker(const std::string& task_id) { return "Aetherium-Task: " + task_id; }

struct code_host_loop::task_at {
  domain::task_state state;
  std::int64_t version = 0;
};

code_host_loop::code_host_loop(code_host_loop_ports ports, code_host_loop_options options)
    : ports_(std::move(ports)), options_(std::move(options)) {}

result<code_host_loop::task_at> code_host_loop::load(const std::string& stream) {
  auto events = ports_.store->read_stream(stream_id{stream});
  if (!events)
    return events.err();
  task_at out;
  for (auto& stored : *events) {
    auto e = ports_.codec->decode(stored);
    if (!e)
      return e.err();
    out.state = domain::task::evolve(std::move(out.state), *e);
    out.version = stored.stream_version;
  }
  return out;
}

result<void> code_host_loop::handle(const recorded_event& event) {
  if (stream_category(event.stream) != "task")
    return {};
  static const char* const wanted[] = {"task.output_collected", "task.verification_passed", "task.verification_failed",
                                       "task.cancel_requested", "task.started",             "task.completed",
                                       "task.failed",           "task.terminated"};
  if (std::none_of(std::begin(wanted), std::end(wanted), [&](const char* t) { return event.type == t; }))
    return {};
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto task = load(event.stream.str());
    if (!task) {
      if (task.err().code == errc::corrupt) { // replay --verify reports it; it must not stop the loop
        log(log_level::error, "code-host loop skips a task it cannot read",
            {{"stream", event.stream.str()}, {"error", task.err().detail}});
        return {};
      }
      return task.err();
    }
    result<void> done;
    if (ready_to_publish(task->state))
      done = publish(*task, event);
    else if (cancelled_after_its_run(task->state))
      done = terminate(*task, event);
    if (!done && done.err().code == errc::conflict)
      continue; // the stream moved meanwhile: look again
    if (!done)
      return done;
    if (task->state.parent)
      return comment(*task, event);
    return {};
  }
  return make_error(errc::unavailable, "the task's stream kept moving: " + event.stream.str());
}

result<void> code_host_loop::publish(const task_at& task, const recorded_event& cause) {
  const auto& s = task.state;
  const auto id = s.id.str();
  if (!s.output || s.output->patch_ref.empty() || s.output->files_changed == 0) {
    auto done = record(task, cause, "completed", {domain::complete_task{ports_.time->now_us()}});
    if (done && *done)
      say(s, "no files changed: no pull request\ncompleted");
    return done ? result<void>{} : result<void>{done.err()};
  }
  std::optional<domain::task_pull_request> parent_pr;
  if (s.parent) {
    auto parent = load("task-" + s.parent->str());
    if (!parent)
      return parent.err();
    parent_pr = parent->state.pr;
  }
  pull_request_spec pr;
  pr.repo = read_model::code_host_repo(s.spec.repo);
  pr.tenant = s.tenant;
  pr.base_branch = s.spec.base_ref;
  pr.head_branch = parent_pr ? parent_pr->branch : "aetherium/task-" + id;
  pr.title = s.spec.agent_type == "script" ? "Aetherium: script task " + id : "Aetherium: " + first_line(s.spec.prompt, 72);
  bool verified = s.verification_passed.value_or(false);
  std::string verification = s.spec.verify_command.empty()
                               ? "not requested"
                               : std::string{verified ? "passed" : "FAILED"} + " (`" + s.spec.verify_command + "`)";
  pr.body = "Task: " + id + (s.parent ? "\nFollows up: " + s.parent->str() : "") + "\n\nPrompt:\n> "
            + first_line(s.spec.prompt, 500) + "\n\nVerification: " + verification + "\n";
  pr.commit_message = pr.title + "\n\n" + task_commit_marker(id) + "\n";

  // What an earlier attempt, killed before it recorded its result, already did.
  std::optional<pull_request_ref> ref;
  if (parent_pr) {
    auto pushed = ports_.host->find_commit(pr, task_commit_marker(id));
    if (!pushed && transient(pushed.err()))
      return pushed.err();
    if (pushed && *pushed)
      ref = pull_request_ref{parent_pr->number, parent_pr->url, parent_pr->branch, **pushed};
  } else {
    auto opened = ports_.host->find_pull_request(pr);
    if (!opened && transient(opened.err()))
      return opened.err();
    if (opened && *opened)
      ref = **opened;
  }
  if (ref) {
    log(log_level::info, "code-host loop found its earlier push", {{"task_id", id}, {"url", ref->url}});
  } else {
    auto changes = rebuild(s);
    if (!changes && transient(changes.err()))
      return changes.err();
    auto made = !changes ? result<pull_request_ref>{changes.err()}
                : parent_pr ? ports_.host->update_pull_request(pr, parent_pr->number, *changes)
                            : ports_.host->open_pull_request(pr, *changes);
    if (!made && transient(made.err()))
      return made.err();
    if (!made) {
      auto failed = record(task, cause, "failed",
                           {domain::fail_task{domain::failure_reason::code_host_error, made.err().detail, ports_.time->now_us()}});
      if (failed && *failed)
        say(s, "failed (code_host_error): " + made.err().detail);
      return failed ? result<void>{} : result<void>{failed.err()};
    }
    ref = *made;
  }
  failpoint("code_host.after_publish");
  auto now = ports_.time->now_us();
  auto done = record(task, cause, "published",
                     {domain::record_pull_request{parent_pr.has_value(),
                                                  {ref->url, ref->number, ref->head_branch, ref->head_commit}, now},
                      domain::complete_task{now}});
  if (!done)
    return done.err();
  if (*done)
    say(s, std::string{parent_pr ? "pull request updated: " : "pull request opened: "} + ref->url + "\ncompleted");
  return {};
}

result<void> code_host_loop::terminate(const task_at& task, const recorded_event& cause) {
  auto done = record(task, cause, "terminated", {domain::terminate_task{ports_.time->now_us()}});
  if (done && *done)
    say(task.state, "terminated on request");
  return done ? result<void>{} : result<void>{done.err()};
}

result<void> code_host_loop::comment(const task_at& task, const recorded_event& cause) {
  const auto& s = task.state;
  if (!ports_.comments)
    return {};
  std::string text;
  if (cause.type == "task.started")
    text = "Follow-up task " + s.id.str() + " started: " + first_line(s.spec.prompt, 200);
  else if (cause.type == "task.completed")
    text = "Follow-up task " + s.id.str() + " completed"
           + (s.pr ? ": pushed " + s.pr->commit.substr(0, 12) + " to this pull request." : " with no change.");
  else if (cause.type == "task.failed")
    text = "Follow-up task " + s.id.str() + " failed ("
           + (s.failure ? std::string{domain::to_string(*s.failure)} : std::string{"unknown"}) + "): "
           + first_line(s.failure_detail, 300);
  else if (cause.type == "task.terminated")
    text = "Follow-up task " + s.id.str() + " was cancelled.";
  else
    return {};
  auto parent = load("task-" + s.parent->str());
  if (!parent)
    return parent.err();
  if (!parent->state.pr)
    return {}; // the parent opened no pull request: nowhere to say it
  auto repo = read_model::code_host_repo(parent->state.spec.repo);
  auto number = parent->state.pr->number;
  auto marker = "<!-- aetherium:event=" + cause.id.str() + " -->";
  auto found = ports_.comments->find_comment(repo, number, marker);
  if (!found)
    return transient(found.err()) ? found.err() : result<void>{};
  if (*found)
    return {};
  auto added = ports_.comments->add_comment(repo, number, text + "\n\n" + marker);
  if (!added && transient(added.err()))
    return added.err();
  if (!added)
    log(log_level::warn, "follow-up comment refused", {{"task_id", s.id.str()}, {"error", added.err().detail}});
  return {};
}

result<change_set> code_host_loop::rebuild(const domain::task_state& task) {
  auto patch = ports_.blobs->get(task.output->patch_ref);
  if (!patch)
    return patch.err();
  auto dir = options_.scratch_dir + "/" + task.id.str() + "-publish";
  ports_.workspaces->release(dir);
  checkout_request request{task.spec.repo, task.output->base_commit, dir, task.tenant, 0,
                           std::chrono::steady_clock::now() + std::chrono::minutes(10), {}};
  auto commit = ports_.workspaces->checkout(request);
  auto changes = commit ? ports_.workspaces->replay(dir, task.output->base_commit, *patch)
                        : result<change_set>{commit.err()};
  ports_.workspaces->release(dir);
  return changes;
}

result<bool> code_host_loop::record(const task_at& task, const recorded_event& cause, const std::string& what,
                                    const std::vector<domain::task_command>& commands) {
  auto state = task.state;
  std::vector<domain::task_event> events;
  for (auto& cmd : commands) {
    auto decided = domain::task::decide(state, cmd);
    if (!decided)
      return decided.err().code == errc::invalid_transition ? result<bool>{false} : result<bool>{decided.err()};
    for (auto& e : *decided) {
      state = domain::task::evolve(std::move(state), e);
      events.push_back(std::move(e));
    }
  }
  event_metadata md;
  md.tenant = task.state.tenant.str();
  md.principal = "code-host-loop";
  md.correlation_id = cause.metadata.correlation_id;
  md.causation_id = cause.id.str();
  append_request req{domain::task::stream_of(task.state.id.str()), expected_version::exactly(task.version), {}};
  for (std::size_t i = 0; i < events.size(); ++i)
    req.events.push_back(ports_.codec->encode(
      events[i], read_model::derived_uuid(task.state.id.str() + "/code-host/" + what + "/" + std::to_string(i)), md));
  auto appended = ports_.store->append(std::move(req));
  if (!appended)
    return appended.err();
  return !appended->duplicate;
}

void code_host_loop::say(const domain::task_state& task, const std::string& text) {
  if (!ports_.logs)
    return;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = std::min(text.find('\n', at), text.size());
    (void)ports_.logs->append(task.id, "system", text.substr(at, end - at) + "\n");
    at = end + 1;
  }
  ports_.logs->close(task.id); // every outcome the loop tells ends the task
}

} // namespace aetherium::actors
