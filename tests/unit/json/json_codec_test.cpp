// The JSON codecs of the domain events: every event survives encode → decode unchanged,
// broken payloads fail naming the position, and old schema versions are upcast on read.

#include <gtest/gtest.h>

#include "adapters/json/json_domain_codec.hpp"
#include "adapters/json/upcasters.hpp"

namespace aetherium {
namespace {

using namespace domain;

recorded_event as_recorded(const new_event& e, std::int64_t position = 7) {
  recorded_event r;
  r.id = e.id;
  r.stream = stream_id{"task-t1"};
  r.stream_version = 1;
  r.type = e.type;
  r.schema_version = e.schema_version;
  r.payload = e.payload;
  r.metadata = e.metadata;
  r.position = position;
  return r;
}

task_spec sample_spec() {
  task_spec s;
  s.agent_type = "script";
  s.prompt = "Fix the \"bug\" — ünïcode\n";
  s.script = "echo hi > a.txt";
  s.repo = "/srv/repo.git";
  s.base_ref = "main";
  s.runtime = "runc";
  s.limits.memory_bytes = 256ull << 20;
  s.limits.pids = 128;
  s.budgets.max_seconds = 60;
  s.budgets.max_log_bytes = 4096;
  s.allowed_hosts = {"api.anthropic.com"};
  s.secrets = {"anthropic"};
  s.verify_command = "make test";
  s.open_pr_on_failed_verification = true;
  return s;
}

std::vector<task_event> every_task_event() {
  task_output out;
  out.files_changed = 2;
  out.insertions = 5;
  out.deletions = 1;
  out.changed_bytes = 99;
  out.exit_code = 0;
  out.duration_ms = 1234;
  out.base_commit = "abc";
  out.summary = "done";
  out.patch_ref = "patch-1";
  task_pull_request pr{"file:///repo#1", 1, "aetherium/task-t1", "deadbeef"};
  return {
    task_requested{task_id{"t1"}, tenant_id{"acme"}, project_id{"p1"}, task_id{"t0"}, sample_spec(), 10},
    task_scheduled{node_id{"local"}, 11},
    task_sandbox_provisioned{"sbx-1", 12},
    task_started{13},
    task_output_collected{out, 14},
    task_verified{true, 0, "ok", 15},
    task_verified{false, 2, "FAIL", 15},
    task_pr_recorded{false, pr, 16},
    task_pr_recorded{true, pr, 16},
    task_completed{17},
    task_failed{failure_reason::timeout, "ran 60 s", 18},
    task_cancel_requested{"key:1", 19},
    task_terminated{20},
  };
}

TEST(json_task_codec, every_event_round_trips_with_its_type_name) {
  auto codec = make_json_task_codec();
  for (auto& e : every_task_event()) {
    auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000001", {});
    EXPECT_EQ(stored.type, type_name(e));
    auto back = codec->decode(as_recorded(stored));
    ASSERT_TRUE(back) << stored.type << ": " << back.err().detail;
    // Re-encoding the decoded event gives the same bytes: nothing was lost or changed.
    EXPECT_EQ(codec->encode(*back, "00000000-0000-4000-8000-000000000001", {}).payload, stored.payload)
      << stored.type;
  }
}

TEST(json_task_codec, requested_keeps_every_spec_field) {
  auto codec = make_json_task_codec();
  auto stored = codec->encode(every_task_event()[0], "00000000-0000-4000-8000-000000000001", {});
  auto back = codec->decode(as_recorded(stored));
  ASSERT_TRUE(back);
  auto& r = std::get<task_requested>(*back);
  EXPECT_EQ(r.id.str(), "t1");
  ASSERT_TRUE(r.parent);
  EXPECT_EQ(r.parent->str(), "t0");
  EXPECT_EQ(r.spec.prompt, sample_spec().prompt);
  EXPECT_EQ(r.spec.runtime, "runc");
  EXPECT_EQ(r.spec.limits.memory_bytes, 256ull << 20);
  EXPECT_EQ(r.spec.budgets.max_log_bytes, 4096u);
  EXPECT_EQ(r.spec.allowed_hosts, std::vector<std::string>{"api.anthropic.com"});
  EXPECT_TRUE(r.spec.open_pr_on_failed_verification);
}

TEST(json_task_codec, payloads_are_canonical_json) {
  auto codec = make_json_task_codec();
  auto stored = codec->encode(task_started{13}, "00000000-0000-4000-8000-000000000001", {});
  EXPECT_EQ(stored.payload, "{\"at_us\": 13}");
}

TEST(json_task_codec, unknown_type_fails_naming_the_position) {
  auto codec = make_json_task_codec();
  auto r = as_recorded(codec->encode(task_started{1}, "00000000-0000-4000-8000-000000000001", {}), 42);
  r.type = "task.teleported";
  auto back = codec->decode(r);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.err().code, errc::corrupt);
  EXPECT_NE(back.err().detail.find("position 42"), std::string::npos) << back.err().detail;
  EXPECT_NE(back.err().detail.find("task.teleported"), std::string::npos);
}

TEST(json_task_codec, malformed_and_mistyped_payloads_fail_as_corrupt) {
  auto codec = make_json_task_codec();
  auto r = as_recorded(codec->encode(task_started{1}, "00000000-0000-4000-8000-000000000001", {}), 5);
  for (std::string payload : {"{not json", "{\"at_us\": \"soon\"}", "{}", "[]"}) {
    r.payload = payload;
    auto back = codec->decode(r);
    ASSERT_FALSE(back) << payload;
    EXPECT_EQ(back.err().code, errc::corrupt) << payload;
    EXPECT_NE(back.err().detail.find("position 5"), std::string::npos) << back.err().detail;
  }
}

TEST(json_task_codec, a_schema_version_newer_than_the_code_is_rejected) {
  auto codec = make_json_task_codec();
  auto r = as_recorded(codec->encode(task_started{1}, "00000000-0000-4000-8000-000000000001", {}));
  r.schema_version = 9;
  auto back = codec->decode(r);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.err().code, errc::corrupt);
  EXPECT_NE(back.err().detail.find("schema version 9"), std::string::npos) << back.err().detail;
}

TEST(json_task_codec, every_event_is_written_with_the_schema_version_its_struct_declares) {
  auto codec = make_json_task_codec();
  for (auto& e : every_task_event()) {
    auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000001", {});
    EXPECT_EQ(stored.schema_version, schema_version(e)) << stored.type;
    EXPECT_EQ(task_schema_version(stored.type), schema_version(e)) << stored.type;
  }
  EXPECT_EQ(codec->encode(every_task_event()[0], "00000000-0000-4000-8000-000000000001", {}).schema_version,
            task_requested::schema_version);
  EXPECT_EQ(task_requested::schema_version, 2);
  auto project = make_json_project_codec()->encode(project_created{}, "00000000-0000-4000-8000-000000000002", {});
  EXPECT_EQ(project.schema_version, project_created::schema_version);
}

TEST(json_task_codec, upcasters_lead_every_old_version_to_the_declared_one) {
  for (auto& [type, from] : upcast_steps()) {
    auto current = task_schema_version(type);
    if (current == 0)
      current = scheduling::tenant_schema_version(type);
    if (current == 0)
      current = scheduling::node_schema_version(type);
    EXPECT_LT(from, current) << type << " has a step from " << from << " past its struct's schema_version";
    for (int v = 1; v < current; ++v)
      EXPECT_TRUE(upcast(type, v, current, nlohmann::json::object()).ok()) << type << " from " << v;
  }
  EXPECT_FALSE(upcast("task.requested", 1, 3, nlohmann::json::object()).ok()) << "no step from 2 to 3";
}

TEST(json_task_codec, a_version_1_request_is_upcast_moving_its_timeout_into_the_budgets) {
  auto codec = make_json_task_codec();
  auto r = as_recorded(codec->encode(every_task_event()[0], "00000000-0000-4000-8000-000000000001", {}));
  // The v1 layout: no spec.budgets, the wall-clock budget as top-level timeout_seconds.
  r.schema_version = 1;
  auto budgets_at = r.payload.find("\"budgets\": ");
  ASSERT_NE(budgets_at, std::string::npos);
  auto end = r.payload.find('}', budgets_at);
  r.payload.erase(budgets_at, end + 3 - budgets_at); // the object, its '}' and ", "
  r.payload.insert(1, "\"timeout_seconds\": 90, ");
  auto back = codec->decode(r);
  ASSERT_TRUE(back) << back.err().detail << "\n" << r.payload;
  auto& spec = std::get<task_requested>(*back).spec;
  EXPECT_EQ(spec.budgets.max_seconds, 90u);
  EXPECT_EQ(spec.budgets.max_log_bytes, 8u << 20);
  EXPECT_EQ(spec.budgets.max_changed_bytes, 16u << 20);
  EXPECT_EQ(spec.prompt, sample_spec().prompt);
}

TEST(json_project_codec, created_round_trips) {
  auto codec = make_json_project_codec();
  project_event e = project_created{project_id{"p1"}, tenant_id{"acme"}, "web", "/srv/web.git", "main", "make test", 5};
  auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000002", {});
  EXPECT_EQ(stored.type, "project.created");
  auto back = codec->decode(as_recorded(stored));
  ASSERT_TRUE(back) << back.err().detail;
  auto& c = std::get<project_created>(*back);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.verify_command, "make test");
  EXPECT_EQ(c.at_us, 5);
}

TEST(json_tenant_codec, events_round_trip_with_unset_unlimited_and_set_quotas) {
  using namespace scheduling;
  auto codec = make_json_tenant_codec();
  tenant_quotas q{std::nullopt, 0, 3ull << 30};
  for (tenant_event e : {tenant_event{tenant_created{tenant_id{"acme"}, "Acme", q, 5}},
                         tenant_event{tenant_quotas_changed{{2, 3, std::nullopt}, 6}}}) {
    auto stored = codec->encode(e, "00000000-0000-4000-8000-000000000003", {});
    EXPECT_EQ(stored.type, type_name(e));
    EXPECT_EQ(stored.schema_version, 2);
    auto back = codec->decode(as_recorded(stored));
    ASSERT_TRUE(back) << back.err().detail;
    EXPECT_EQ(back->index(), e.index());
    if (auto* c = std::get_if<tenant_created>(&*back)) {
      EXPECT_EQ(c->id.str(), "acme");
      EXPECT_EQ(c->name, "Acme");
      EXPECT_EQ(c->quotas, q);
      EXPECT_EQ(c->at_us, 5);
    } else {
      EXPECT_EQ(std::get<tenant_quotas_changed>(*back).quotas, (tenant_quotas{2, 3, std::nullopt}));
    }
  }
  EXPECT_NE(codec->encode(tenant_created{tenant_id{"a"}, "A", {}, 1}, "00000000-0000-4000-8000-000000000004", {})
              .payload.find("\"max_live_tasks\": null"),
            std::string::npos)
    << "an unset quota is stored as null";
}

TEST(json_tenant_codec, a_version_1_quota_set_is_upcast_to_sandboxes_and_memory) {
  using namespace scheduling;
  auto codec = make_json_tenant_codec();
  recorded_event r;
  r.stream = stream_id{"tenant-acme"};
  r.type = "tenant.quotas_changed";
  r.schema_version = 1;
  r.payload = R"({"at_us": 4, "quotas": {"cpu_millis": 8000, "max_concurrent_tasks": 3, "memory_bytes": 18446744073709551615}})";
  auto back = codec->decode(r);
  ASSERT_TRUE(back) << back.err().detail;
  EXPECT_EQ(std::get<tenant_quotas_changed>(*back).quotas, (tenant_quotas{std::nullopt, 3, 0}))
    << "the largest value was unlimited: 0 now";
}

} // namespace
} // namespace aetherium
