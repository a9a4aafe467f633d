// The direct JSON writer behind task views: what it writes must parse to what the tree
// encoder would have produced.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/json_codec.hpp"
#include "adapters/http/json_writer.hpp"
#include "adapters/http/task_json_cache.hpp"

namespace aetherium::http {
namespace {

using nlohmann::json;

std::string encoded(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(json_writer, escapes_what_json_requires_and_keeps_utf8) {
  EXPECT_EQ(encoded("plain"), "\"plain\"");
  EXPECT_EQ(encoded("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
  EXPECT_EQ(encoded("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(encoded(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(encoded(std::string("nul\0in", 6)), "\"nul\\u0000in\"");
  EXPECT_EQ(encoded("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(json_writer, replaces_invalid_utf8_like_the_tree_encoder) {
  for (std::string bad : {std::string("\xff"), std::string("\xc3"), std::string("\xe2\x82"),
                          std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
    std::string text = "a" + bad + "b";
    auto ours = json::parse(encoded(text));
    auto tree = json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace));
    EXPECT_EQ(ours, tree) << "for bytes of length " << bad.size() << " starting " << int(static_cast<unsigned char>(bad[0]));
  }
}

TEST(json_writer, separates_members_and_elements) {
  json_writer w;
  w.begin_object().key("a").number(std::int64_t{-1}).key("b").begin_array().string("x").null().boolean(true);
  w.begin_object().end_object().end_array().key("c").string_or_null("").key("d").raw("{\"n\":1}").end_object();
  EXPECT_EQ(w.text(), R"({"a":-1,"b":["x",null,true,{}],"c":null,"d":{"n":1}})");
  EXPECT_TRUE(json::accept(w.text()));
}

TEST(json_writer, formats_timestamps_as_rfc3339_microseconds) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(rfc3339(951'782'400'000'001), "2000-02-29T00:00:00.000001Z");
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(rfc3339(253'402'300'799'999'999), "9999-12-31T23:59:59.999999Z");
}

TEST(json_writer, writes_a_task_view_with_every_field) {
  api::task_view t;
  t.id = task_id{"t-1"};
  t.project = project_id{"p-1"};
  t.tenant = tenant_id{"acme"};
  t.status = api::task_status::completed;
  t.agent_type = "script";
  t.prompt = "fix \"it\"\n";
  t.repo = "/srv/repo.git";
  t.base_ref = "main";
  t.runtime = "crun";
  t.limits = {256ull << 20, 128, 1000, 1ull << 30};
  t.budgets = {600, 25, 4096, 8192};
  t.network.kind = api::network_access::mode::allow_list;
  t.network.allowed_hosts = {"api.anthropic.com"};
  t.secrets = {"ANTHROPIC_API_KEY"};
  t.verify_command = "make test";
  t.parent = task_id{"t-0"};
  t.node = "local";
  t.created_at_us = 1'700'000'000'000'000;
  t.updated_at_us = 1'700'000'001'000'000;
  t.started_at_us = 1'700'000'000'500'000;
  t.diff = api::diff_summary{2, 10, 3, "2 files changed"};
  t.pr_url = "https://github.com/o/r/pull/7";
  t.version = 9;
  t.spend = {3, 1000, 40, 1'500'001, 1};
  auto j = json::parse(task_json(t));
  EXPECT_EQ(j["id"], "t-1");
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["prompt"], "fix \"it\"\n");
  EXPECT_EQ(j["limits"]["memory_bytes"], 256ull << 20);
  EXPECT_EQ(j["limits"]["disk_bytes"], 1ull << 30);
  EXPECT_EQ(j["budgets"]["max_cost_cents"], 25);
  EXPECT_EQ(j["budgets"]["max_log_bytes"], 4096);
  EXPECT_EQ(j["budgets"]["max_changed_bytes"], 8192);
  EXPECT_EQ(j["network"]["mode"], "allow_list");
  EXPECT_EQ(j["network"]["allowed_hosts"], json::array({"api.anthropic.com"}));
  EXPECT_EQ(j["secrets"], json::array({"ANTHROPIC_API_KEY"}));
  EXPECT_EQ(j["parent_task_id"], "t-0");
  EXPECT_TRUE(j["failure_reason"].is_null());
  EXPECT_EQ(j["node"], "local");
  EXPECT_EQ(j["created_at"], "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(j["started_at"], "2023-11-14T22:13:20.500000Z");
  EXPECT_TRUE(j["finished_at"].is_null());
  EXPECT_EQ(j["diff"]["files_changed"], 2);
  EXPECT_EQ(j["diff"]["summary"], "2 files changed");
  EXPECT_EQ(j["pr_url"], "https://github.com/o/r/pull/7");
  EXPECT_EQ(j["version"], 9);
  EXPECT_EQ(j["model_providers"], json::array());
  EXPECT_TRUE(j["failure_detail"].is_null());
  EXPECT_EQ(j["spend"]["calls"], 3);
  EXPECT_EQ(j["spend"]["cost_microcents"], 1'500'001);
  EXPECT_EQ(j["spend"]["cost_cents"], 2) << "a started cent counts";
  EXPECT_EQ(j["spend"]["unread_calls"], 1);
  EXPECT_EQ(j["node_loss_retries"], 1);
  EXPECT_EQ(j.size(), 28u) << j.dump();
  api::task_view fresh;
  auto empty = json::parse(task_json(fresh));
  EXPECT_TRUE(empty["parent_task_id"].is_null());
  EXPECT_TRUE(empty["diff"].is_null());
  EXPECT_TRUE(empty["pr_url"].is_null());
}

TEST(task_json_cache, renders_once_per_version_and_again_when_the_task_moves) {
  task_json_cache cache(2);
  api::task_view t;
  t.id = task_id{"t-1"};
  t.version = 1;
  t.updated_at_us = 10;
  auto first = cache.text(t);
  EXPECT_EQ(*first, task_json(t));
  EXPECT_EQ(cache.text(t), first) << "the same version is not rendered again";
  t.version = 2;
  t.status = api::task_status::running;
  t.updated_at_us = 20;
  auto second = cache.text(t);
  EXPECT_NE(second, first);
  EXPECT_EQ(json::parse(*second)["status"], "running");
  api::task_view other = t;
  other.id = task_id{"t-2"};
  api::task_view third = t;
  third.id = task_id{"t-3"};
  EXPECT_EQ(json::parse(*cache.text(other))["id"], "t-2");
  EXPECT_EQ(json::parse(*cache.text(third))["id"], "t-3") << "a full cache starts over";
  EXPECT_EQ(json::parse(*cache.text(t))["version"], 2);
}

} // namespace
} // namespace aetherium::http
