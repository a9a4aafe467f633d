// Given events, when a command, then events or an error: every transition of the task
// lifecycle and every rejection.
#include <gtest/gtest.h>

#include "events/domain/task.hpp"

using namespace aetherium;
using namespace aetherium::domain;

namespace {

task_spec spec(std::string verify = {}) {
  task_spec s;
  s.agent_type = "script";
  s.prompt = "add a greeting";
  s.script = "echo hi > hello.txt";
  s.repo = "/srv/git/widgets.git";
  s.base_ref = "main";
  s.verify_command = std::move(verify);
  return s;
}

request_task request(std::string verify = {}) {
  return {task_id{"t1"}, tenant_id{"acme"}, project_id{"p1"}, std::nullopt, spec(std::move(verify)), 10};
}

/// Folds `commands` in order, each of which must succeed.
task_state given(const std::vector<task_command>& commands) {
  task_state s;
  for (auto& c : commands) {
    auto events = task::decide(s, c);
    EXPECT_TRUE(events.ok()) << (events.ok() ? "" : events.err().detail);
    if (!events.ok())
      break;
    for (auto& e : *events)
      s = task::evolve(s, e);
  }
  return s;
}

std::string then_type(const task_state& s, const task_command& c) {
  auto events = task::decide(s, c);
  if (!events.ok())
    return std::string{"error:"} + to_string(events.err().code);
  if (events->empty())
    return "none";
  return type_name(events->front());
}

const task_pull_request pr{"file:///srv/git/widgets.git#pull/1", 1, "aetherium/task-t1", "abc"};

std::vector<task_command> up_to_running() {
  return {request(), schedule_task{node_id{"n1"}, 11}, record_sandbox{"sb1", 12}, start_task{13}};
}

TEST(task, the_happy_path_without_verification) {
  auto s = given(up_to_running());
  EXPECT_EQ(s.status, task_status::running);
  EXPECT_EQ(s.started_at_us, 13);
  EXPECT_EQ(then_type(s, collect_output{{1, 2, 0, 10, 0, 5, "base", "done", "obj"}, 14}), "task.output_collected");
  s = given({request(), schedule_task{node_id{"n1"}}, record_sandbox{"sb1"}, start_task{}, collect_output{}});
  EXPECT_EQ(s.status, task_status::output_collected);
  EXPECT_EQ(then_type(s, record_verification{true}), "error:invalid_transition") << "no verify command";
  EXPECT_EQ(then_type(s, record_pull_request{false, pr}), "task.pr_opened");
  s = task::evolve(s, task_pr_recorded{false, pr, 20});
  EXPECT_EQ(s.status, task_status::pr_opened);
  EXPECT_EQ(s.pr->url, pr.url);
  EXPECT_EQ(then_type(s, complete_task{21}), "task.completed");
  s = task::evolve(s, task_completed{21});
  EXPECT_EQ(s.finished_at_us, 21);
  EXPECT_TRUE(is_terminal(s.status));
}

TEST(task, with_a_verify_command_verification_comes_before_the_pull_request) {
  auto cmds = up_to_running();
  cmds[0] = request("make test");
  cmds.push_back(collect_output{});
  auto s = given(cmds);
  EXPECT_EQ(then_type(s, record_pull_request{false, pr}), "error:invalid_transition");
  EXPECT_EQ(then_type(s, complete_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(s, record_verification{true, 0, "ok"}), "task.verification_passed");
  EXPECT_EQ(then_type(s, record_verification{false, 1, "boom"}), "task.verification_failed");
  auto passed = task::evolve(s, task_verified{true, 0, "ok", 1});
  EXPECT_EQ(passed.status, task_status::verification_passed);
  EXPECT_EQ(then_type(passed, record_pull_request{false, pr}), "task.pr_opened");
  auto failed = task::evolve(s, task_verified{false, 1, "boom", 1});
  EXPECT_EQ(failed.status, task_status::verification_failed);
  EXPECT_EQ(then_type(failed, record_pull_request{false, pr}), "error:invalid_transition");
  EXPECT_EQ(then_type(failed, fail_task{failure_reason::verification_failed}), "task.failed");
}

TEST(task, a_failed_verification_opens_a_pull_request_when_the_task_says_so) {
  auto cmds = up_to_running();
  auto r = request("make test");
  r.spec.open_pr_on_failed_verification = true;
  cmds[0] = r;
  cmds.push_back(collect_output{});
  cmds.push_back(record_verification{false, 1, "boom"});
  auto s = given(cmds);
  EXPECT_EQ(then_type(s, record_pull_request{false, pr}), "task.pr_opened");
}

TEST(task, a_follow_up_records_an_updated_pull_request) {
  auto cmds = up_to_running();
  auto r = request();
  r.parent = task_id{"t0"};
  cmds[0] = r;
  cmds.push_back(collect_output{});
  auto s = given(cmds);
  EXPECT_EQ(s.parent->str(), "t0");
  EXPECT_EQ(then_type(s, record_pull_request{true, pr}), "task.pr_updated");
  s = task::evolve(s, task_pr_recorded{true, pr, 1});
  EXPECT_EQ(s.status, task_status::pr_updated);
  EXPECT_EQ(then_type(s, complete_task{}), "task.completed");
}

TEST(task, a_sandbox_recorded_with_its_start_gives_both_events_at_once) {
  auto scheduled = given({request(), schedule_task{node_id{"n1"}, 11}});
  auto events = task::decide(scheduled, record_sandbox{"sb1", 12, true});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(std::string{type_name(events->at(0))}, "task.sandbox_provisioned");
  EXPECT_EQ(std::string{type_name(events->at(1))}, "task.started");
  auto s = given({request(), schedule_task{node_id{"n1"}, 11}, record_sandbox{"sb1", 12, true}});
  EXPECT_EQ(s.status, task_status::running);
  EXPECT_EQ(s.started_at_us, 12);
  EXPECT_EQ(then_type(given({request()}), record_sandbox{"sb1", 12, true}), "error:invalid_transition");
}

TEST(task, a_scheduled_task_whose_node_was_lost_is_scheduled_on_another_node) {
  auto scheduled = given({request(), schedule_task{node_id{"n1"}}});
  EXPECT_EQ(then_type(scheduled, schedule_task{node_id{"n2"}}), "task.scheduled");
  auto moved = given({request(), schedule_task{node_id{"n1"}}, schedule_task{node_id{"n2"}}});
  EXPECT_EQ(moved.node, node_id{"n2"});
  EXPECT_EQ(moved.status, task_status::scheduled);
}

TEST(task, every_step_out_of_order_is_an_invalid_transition) {
  auto requested = given({request()});
  EXPECT_EQ(then_type(requested, record_sandbox{"x"}), "error:invalid_transition");
  EXPECT_EQ(then_type(requested, start_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(requested, collect_output{}), "error:invalid_transition");
  EXPECT_EQ(then_type(requested, complete_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(requested, terminate_task{}), "error:invalid_transition");
  auto scheduled = given({request(), schedule_task{node_id{"n1"}}});
  EXPECT_EQ(then_type(scheduled, schedule_task{node_id{"n1"}}), "error:invalid_transition");
  EXPECT_EQ(then_type(scheduled, start_task{}), "error:invalid_transition");
  auto provisioned = given({request(), schedule_task{node_id{"n1"}}, record_sandbox{"x"}});
  EXPECT_EQ(then_type(provisioned, schedule_task{node_id{"n2"}}), "error:invalid_transition");
  auto running = given(up_to_running());
  EXPECT_EQ(then_type(running, start_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(running, record_pull_request{false, pr}), "error:invalid_transition");
}

TEST(task, any_live_task_can_fail_with_a_reason) {
  auto all = up_to_running();
  for (std::size_t n = 1; n <= all.size(); ++n) {
    std::vector<task_command> cmds(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    auto s = given(cmds);
    auto events = task::decide(s, fail_task{failure_reason::oom, "killed", 99});
    ASSERT_TRUE(events.ok());
    s = task::evolve(s, events->front());
    EXPECT_EQ(s.status, task_status::failed);
    EXPECT_EQ(*s.failure, failure_reason::oom);
    EXPECT_EQ(s.failure_detail, "killed");
  }
}

TEST(task, nothing_changes_a_terminal_task) {
  auto failed = given({request(), fail_task{failure_reason::timeout}});
  EXPECT_EQ(then_type(failed, fail_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(failed, schedule_task{node_id{"n"}}), "error:invalid_transition");
  EXPECT_EQ(then_type(failed, cancel_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(failed, request()), "error:conflict");
}

TEST(task, cancel_then_terminate_and_cancel_is_idempotent) {
  auto s = given(up_to_running());
  EXPECT_EQ(then_type(s, cancel_task{"alice"}), "task.cancel_requested");
  s = given({request(), schedule_task{node_id{"n1"}}, record_sandbox{"sb"}, start_task{}, cancel_task{"alice"}});
  EXPECT_EQ(s.status, task_status::cancel_requested);
  EXPECT_EQ(then_type(s, cancel_task{"bob"}), "none");
  EXPECT_EQ(then_type(s, collect_output{}), "error:invalid_transition");
  EXPECT_EQ(then_type(s, complete_task{}), "error:invalid_transition");
  EXPECT_EQ(then_type(s, terminate_task{}), "task.terminated");
  EXPECT_EQ(then_type(s, fail_task{failure_reason::control_plane_restart}), "task.failed");
  s = task::evolve(s, task_terminated{50});
  EXPECT_EQ(s.status, task_status::terminated);
  EXPECT_EQ(s.finished_at_us, 50);
}

TEST(task, model_usage_is_recorded_in_any_status_and_adds_up_without_changing_it) {
  task_model_used call{"anthropic", "claude-x", 1000, 40, 360000, true, true, 20};
  auto running = given(up_to_running());
  EXPECT_EQ(then_type(running, record_model_usage{call}), "task.model_usage_recorded");
  // An answer still on its way when the task ended is recorded all the same.
  for (auto s : {given({request(), fail_task{failure_reason::budget_exceeded}}),
                 given({request(), schedule_task{node_id{"n1"}}, record_sandbox{"sb"}, start_task{}, cancel_task{"a"}})}) {
    auto before = s.status;
    auto events = task::decide(s, record_model_usage{call});
    ASSERT_TRUE(events.ok()) << events.err().detail;
    s = task::evolve(s, events->front());
    EXPECT_EQ(s.status, before);
  }
  auto s = task::evolve(task::evolve(running, call), task_model_used{"anthropic", "claude-x", 5, 1, 0, true, false, 21});
  EXPECT_EQ(s.status, task_status::running);
  EXPECT_EQ(s.spend.calls, 2u);
  EXPECT_EQ(s.spend.input_tokens, 1005u);
  EXPECT_EQ(s.spend.output_tokens, 41u);
  EXPECT_EQ(s.spend.cost_microcents, 360000u);
  EXPECT_EQ(s.spend.unread_calls, 1u);
  EXPECT_EQ(then_type({}, record_model_usage{call}), "error:not_found");
  EXPECT_EQ(then_type(running, record_model_usage{}), "error:invalid_argument");
}

TEST(task, a_task_names_only_known_model_providers) {
  auto r = request();
  r.spec.model_providers = {"anthropic", "openai", "gemini"};
  EXPECT_TRUE(task::decide({}, r).ok());
  r.spec.model_providers = {"mistral"};
  auto refused = task::decide({}, r);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.err().field, "model_providers");
}

TEST(task, commands_for_a_task_that_does_not_exist_are_not_found) {
  EXPECT_EQ(then_type({}, schedule_task{node_id{"n"}}), "error:not_found");
  EXPECT_EQ(then_type({}, cancel_task{}), "error:not_found");
  EXPECT_EQ(then_type({}, fail_task{}), "error:not_found");
}

TEST(task, requesting_an_existing_task_is_a_conflict) {
  EXPECT_EQ(then_type(given({request()}), request()), "error:conflict");
}

TEST(task, bad_requests_are_rejected_with_the_field) {
  auto field = [](auto mutate) {
    auto r = request();
    mutate(r);
    auto res = task::decide({}, r);
    return res.ok() ? std::string{"accepted"} : res.err().field;
  };
  EXPECT_EQ(field([](request_task& r) { r.spec.agent_type = ""; }), "agent_type");
  EXPECT_EQ(field([](request_task& r) { r.spec.agent_type = "claude"; r.spec.prompt = ""; }), "prompt");
  EXPECT_EQ(field([](request_task& r) { r.spec.prompt = std::string(max_prompt_bytes + 1, 'p'); }), "prompt");
  EXPECT_EQ(field([](request_task& r) {
              r.spec.prompt.clear();
              for (int i = 0; i < 64 * 1024; ++i)
                r.spec.prompt += "\xf0\x9f\x99\x82"; // a four-byte character, as many as the API takes
            }),
            "accepted");
  EXPECT_EQ(field([](request_task& r) { r.spec.script = ""; }), "script");
  EXPECT_EQ(field([](request_task& r) { r.spec.repo = ""; }), "repo");
  EXPECT_EQ(field([](request_task& r) { r.spec.base_ref = ""; }), "base_ref");
  EXPECT_EQ(field([](request_task& r) { r.spec.runtime = "docker"; }), "runtime");
  EXPECT_EQ(field([](request_task& r) { r.spec.limits.memory_bytes = 1024; }), "limits.memory_bytes");
  EXPECT_EQ(field([](request_task& r) { r.spec.limits.pids = 1; }), "limits.pids");
  EXPECT_EQ(field([](request_task& r) { r.spec.limits.cpu_millis = 1; }), "limits.cpu_millis");
  EXPECT_EQ(field([](request_task& r) { r.spec.budgets.max_seconds = 0; }), "budgets.max_seconds");
  EXPECT_EQ(field([](request_task& r) { r.spec.allowed_hosts = {"evil host"}; }), "allowed_hosts");
  EXPECT_EQ(field([](request_task& r) { r.id = task_id{}; }), "id");
  EXPECT_EQ(field([](request_task& r) { r.tenant = tenant_id{}; }), "tenant");
  EXPECT_EQ(field([](request_task& r) { r.project = project_id{}; }), "project");
  EXPECT_EQ(field([](request_task&) {}), "accepted");
}

TEST(task, failure_reasons_round_trip_through_their_wire_names) {
  for (int i = 0; i <= static_cast<int>(failure_reason::no_capacity); ++i) {
    failure_reason parsed{};
    ASSERT_TRUE(parse_failure_reason(to_string(static_cast<failure_reason>(i)), parsed));
    EXPECT_EQ(static_cast<int>(parsed), i);
  }
  failure_reason unused{};
  EXPECT_FALSE(parse_failure_reason("bored", unused));
}

} // namespace
