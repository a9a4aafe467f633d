#include "events/domain/task.hpp"
#include "events/overloaded.hpp"

namespace aetherium::domain {

namespace {

using events = std::vector<task_event>;

error transition(const task_state& s, const char* what) {
  return make_error(errc::invalid_transition, std::string{"cannot "} + what + " a task that is "
                                                + to_string(s.status));
}

/// Which statuses a command may start from.
bool in(task_status s, std::initializer_list<task_status> allowed) {
  for (auto a : allowed)
    if (a == s)
      return true;
  return false;
}

result<events> decide_request(const task_state& s, const request_task& c) {
  if (s.exists)
    return make_error(errc::conflict, "task " + c.id.str() + " exists already");
  if (c.id.empty())
    return make_error(errc::invalid_argument, "task id must not be empty", "id");
  if (c.tenant.empty())
    return make_error(errc::invalid_argument, "tenant must not be empty", "tenant");
  if (c.project.empty())
    return make_error(errc::invalid_argument, "project must not be empty", "project");
  if (auto ok = validate_task_spec(c.spec); !ok)
    return ok.err();
  return events{task_requested{c.id, c.tenant, c.project, c.parent, c.spec, c.now_us}};
}

result<events> decide_cancel(const task_state& s, const cancel_task& c) {
  if (s.status == task_status::cancel_requested)
    return events{}; // asked again: nothing new happens
  if (is_terminal(s.status))
    return transition(s, "cancel");
  return events{task_cancel_requested{c.by, c.now_us}};
}

result<events> decide_pr(const task_state& s, const record_pull_request& c) {
  bool after_failed = s.status == task_status::verification_failed && s.spec.open_pr_on_failed_verification;
  if (!in(s.status, {task_status::output_collected, task_status::verification_passed}) && !after_failed)
    return transition(s, "record a pull request for");
  if (s.status == task_status::output_collected && !s.spec.verify_command.empty())
    return transition(s, "open a pull request before verification for");
  if (c.pr.url.empty())
    return make_error(errc::invalid_argument, "pull request url must not be empty", "url");
  return events{task_pr_recorded{c.updated, c.pr, c.now_us}};
}

result<events> decide_live(const task_state& s, const task_command& c) {
  using st = task_status;
  return std::visit(
    overloaded{
      [&](const request_task& r) { return decide_request(s, r); },
      [&](const schedule_task& x) -> result<events> {
        // A scheduled task whose node was lost before its sandbox started goes elsewhere.
        bool elsewhere = s.status == st::scheduled && x.node != s.node;
        if (s.status != st::requested && !elsewhere)
          return transition(s, "schedule");
        if (x.node.empty())
          return make_error(errc::invalid_argument, "node must not be empty", "node");
        return events{task_scheduled{x.node, x.now_us}};
      },
      [&](const record_sandbox& x) -> result<events> {
        if (s.status != st::scheduled)
          return transition(s, "provision a sandbox for");
        if (x.and_start)
          return events{task_sandbox_provisioned{x.sandbox_id, x.now_us}, task_started{x.now_us}};
        return events{task_sandbox_provisioned{x.sandbox_id, x.now_us}};
      },
      [&](const start_task& x) -> result<events> {
        if (s.status != st::sandbox_provisioned)
          return transition(s, "start");
        return events{task_started{x.now_us}};
      },
      [&](const collect_output& x) -> result<events> {
        if (s.status != st::running)
          return transition(s, "collect the output of");
        return events{task_output_collected{x.output, x.now_us}};
      },
      [&](const record_verification& x) -> result<events> {
        if (s.status != st::output_collected || s.spec.verify_command.empty())
          return transition(s, "record a verification for");
        return events{task_verified{x.passed, x.exit_code, x.output_tail, x.now_us}};
      },
      [&](const record_pull_request& x) { return decide_pr(s, x); },
      [&](const complete_task& x) -> result<events> {
        bool no_pr_needed = (s.status == st::output_collected && s.spec.verify_command.empty())
                            || s.status == st::verification_passed;
        if (!in(s.status, {st::pr_opened, st::pr_updated}) && !no_pr_needed)
          return transition(s, "complete");
        return events{task_completed{x.now_us}};
      },
      [&](const record_model_usage& x) -> result<events> {
        if (x.usage.provider.empty())
          return make_error(errc::invalid_argument, "provider must not be empty", "provider");
        return events{x.usage};
      },
      [&](const fail_task& x) -> result<events> {
        return events{task_failed{x.reason, x.detail, x.now_us}};
      },
      [&](const cancel_task& x) { return decide_cancel(s, x); },
      [&](const terminate_task& x) -> result<events> {
        if (s.status != st::cancel_requested)
          return transition(s, "terminate");
        return events{task_terminated{x.now_us}};
      },
    },
    c);
}

} // namespace

bool known_model_provider(std::string_view name) noexcept {
  return name == "anthropic" || name == "openai" || name == "gemini";
}

void add_usage(task_spend& spend, const task_model_used& u) noexcept {
  auto sat = [](std::uint64_t a, std::uint64_t b) { return a + b < a ? UINT64_MAX : a + b; };
  spend.calls = sat(spend.calls, 1);
  spend.input_tokens = sat(spend.input_tokens, u.input_tokens);
  spend.output_tokens = sat(spend.output_tokens, u.output_tokens);
  spend.cost_microcents = sat(spend.cost_microcents, u.cost_microcents);
  if (!u.read)
    spend.unread_calls = sat(spend.unread_calls, 1);
}

result<void> validate_task_spec(const task_spec& spec) {
  auto bad = [](const char* field, const std::string& why) { return make_error(errc::invalid_argument, why, field); };
  if (spec.agent_type.empty())
    return bad("agent_type", "agent_type must not be empty");
  if (spec.prompt.empty() && spec.agent_type != "script")
    return bad("prompt", "prompt must not be empty");
  if (spec.prompt.size() > max_prompt_bytes)
    return bad("prompt", "prompt is longer than 256 KiB");
  if (spec.agent_type == "script" && spec.script.empty())
    return bad("script", "a script task needs a script");
  if (spec.script.size() > max_script_bytes)
    return bad("script", "script is longer than 256 KiB");
  if (spec.repo.empty())
    return bad("repo", "repo must not be empty");
  if (spec.base_ref.empty())
    return bad("base_ref", "base_ref must not be empty");
  if (spec.runtime != "crun" && spec.runtime != "runc" && spec.runtime != "runsc" && spec.runtime != "microvm")
    return bad("runtime", "runtime must be one of crun, runc, runsc, microvm");
  if (spec.limits.memory_bytes < (16ull << 20))
    return bad("limits.memory_bytes", "memory limit must be at least 16 MiB");
  if (spec.limits.pids < 8)
    return bad("limits.pids", "pids limit must be at least 8");
  if (spec.limits.cpu_millis < 10)
    return bad("limits.cpu_millis", "cpu limit must be at least 10 millicores");
  if (spec.budgets.max_seconds == 0)
    return bad("budgets.max_seconds", "the time budget must be at least one second");
  for (auto& h : spec.allowed_hosts)
    if (h.empty() || h.size() > 253 || h.find_first_of(" /:@") != std::string::npos)
      return bad("allowed_hosts", "not a host name: " + h);
  for (auto& p : spec.model_providers)
    if (!known_model_provider(p))
      return bad("model_providers", "not a model provider: " + p + " (anthropic, openai, gemini)");
  return {};
}

const char* type_name(const task_event& e) noexcept {
  return std::visit(overloaded{
                      [](const task_verified& v) { return v.passed ? task_verified::passed_type_name : task_verified::failed_type_name; },
                      [](const task_pr_recorded& p) { return p.updated ? task_pr_recorded::updated_type_name : task_pr_recorded::opened_type_name; },
                      [](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; },
                    },
                    e);
}

int schema_version(const task_event& e) noexcept {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::schema_version; }, e);
}

namespace {

/// Whether `type` is a wire name of the event type `E`.
template <class E>
bool names(std::string_view type) noexcept {
  if constexpr (std::is_same_v<E, task_verified>)
    return type == E::passed_type_name || type == E::failed_type_name;
  else if constexpr (std::is_same_v<E, task_pr_recorded>)
    return type == E::opened_type_name || type == E::updated_type_name;
  else
    return type == E::type_name;
}

template <class... Events>
int schema_version_named(std::string_view type, const std::variant<Events...>*) noexcept {
  int version = 0;
  ((version = version == 0 && names<Events>(type) ? Events::schema_version : version), ...);
  return version;
}

} // namespace

int task_schema_version(std::string_view type) noexcept {
  return schema_version_named(type, static_cast<const task_event*>(nullptr));
}

result<std::vector<task_event>> task::decide(const state& s, const command& c) {
  if (!s.exists && !std::holds_alternative<request_task>(c))
    return make_error(errc::not_found, "no such task");
  if (s.exists && std::holds_alternative<record_model_usage>(c))
    return decide_live(s, c);
  if (s.exists && is_terminal(s.status) && !std::holds_alternative<cancel_task>(c)
      && !std::holds_alternative<request_task>(c))
    return transition(s, "change");
  if (s.status == task_status::cancel_requested
      && !(std::holds_alternative<fail_task>(c) || std::holds_alternative<terminate_task>(c)
           || std::holds_alternative<cancel_task>(c) || std::holds_alternative<request_task>(c)))
    return transition(s, "advance");
  return decide_live(s, c);
}

task_state task::evolve(state s, const event& e) {
  std::visit(overloaded{
               [&](const task_requested& x) {
                 s.exists = true;
                 s.id = x.id;
                 s.tenant = x.tenant;
                 s.project = x.project;
                 s.parent = x.parent;
                 s.spec = x.spec;
                 s.status = task_status::requested;
                 s.created_at_us = x.at_us;
               },
               [&](const task_scheduled& x) { s.status = task_status::scheduled; s.node = x.node; },
               [&](const task_sandbox_provisioned& x) { s.status = task_status::sandbox_provisioned; s.sandbox_id = x.sandbox_id; },
               [&](const task_started& x) { s.status = task_status::running; s.started_at_us = x.at_us; },
               [&](const task_output_collected& x) { s.status = task_status::output_collected; s.output = x.output; },
               [&](const task_verified& x) {
                 s.status = x.passed ? task_status::verification_passed : task_status::verification_failed;
                 s.verification_passed = x.passed;
                 s.verification_tail = x.output_tail;
               },
               [&](const task_pr_recorded& x) { s.status = x.updated ? task_status::pr_updated : task_status::pr_opened; s.pr = x.pr; },
               [&](const task_completed& x) { s.status = task_status::completed; s.finished_at_us = x.at_us; },
               [&](const task_failed& x) {
                 s.status = task_status::failed;
                 s.failure = x.reason;
                 s.failure_detail = x.detail;
                 s.finished_at_us = x.at_us;
               },
               [&](const task_cancel_requested&) { s.status = task_status::cancel_requested; },
               [&](const task_terminated& x) { s.status = task_status::terminated; s.finished_at_us = x.at_us; },
               [&](const task_model_used& x) { add_usage(s.spend, x); },
             },
             e);
  std::visit([&](const auto& x) { s.updated_at_us = x.at_us; }, e);
  return s;
}

} // namespace aetherium::domain
