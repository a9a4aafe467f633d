#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "adapters/http/json_codec.hpp"
#include "runtime/client_commands.hpp"

namespace aetherium::testing {
namespace {

namespace fs = std::filesystem;
using runtime::command_line;
using json = nlohmann::json;

/// The command line as the binary sees it, through the real parser.
command_line cli(std::vector<std::string> args) {
  args.insert(args.begin(), "aetherium");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  auto cmd = runtime::parse_command_line(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(cmd.ok());
  return cmd.ok() ? *cmd : command_line{};
}

command_line create(std::vector<std::string> options) {
  std::vector<std::string> args{"task", "create", "--project", "p1", "--agent", "claude"};
  args.insert(args.end(), options.begin(), options.end());
  return cli(args);
}

json body_of(const command_line& cmd) {
  auto body = runtime::task_request_body(cmd);
  EXPECT_TRUE(body.ok()) << (body.ok() ? "" : body.err().detail);
  return body.ok() ? json::parse(*body) : json{};
}

std::string field_of_error(const command_line& cmd) {
  auto body = runtime::task_request_body(cmd);
  return body.ok() ? "<no error>" : body.err().field;
}

class cli_files : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aetherium-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream{path, std::ios::binary} << text;
    return path;
  }
  fs::path dir_;
};

TEST(parse_size, reads_binary_units_in_either_case) {
  EXPECT_EQ(*runtime::parse_size("512"), 512u);
  EXPECT_EQ(*runtime::parse_size("64k"), 64u << 10);
  EXPECT_EQ(*runtime::parse_size("512m"), 512u << 20);
  EXPECT_EQ(*runtime::parse_size("512MiB"), 512u << 20);
  EXPECT_EQ(*runtime::parse_size("1g"), 1u << 30);
  EXPECT_EQ(*runtime::parse_size("2G"), 2ull << 30);
  EXPECT_EQ(*runtime::parse_size("1gb"), 1ull << 30);
  EXPECT_EQ(*runtime::parse_size("1t"), 1ull << 40);
}

TEST(parse_size, refuses_what_is_not_a_size) {
  for (auto bad : {"", "m", "-5", "1.5g", "12x", "12 m", "20000000000g", "99999999999999999999"})
    EXPECT_EQ(runtime::parse_size(bad).ok() ? errc::internal : runtime::parse_size(bad).err().code,
              errc::invalid_argument)
      << bad;
}

TEST(task_request_body, holds_only_the_required_fields_when_no_option_is_given) {
  auto body = body_of(create({"--prompt", "fix the bug"}));
  EXPECT_EQ(body, (json{{"project", "p1"}, {"agent_type", "claude"}, {"prompt", "fix the bug"}}));
}

TEST(task_request_body, maps_every_option_to_its_field) {
  auto body = body_of(create({"--prompt", "p", "--runtime", "runsc", "--verify", "make test", "--allow",
                              "api.github.com, .npmjs.org,,api.github.com", "--secret", "gh_token,npm",
                              "--parent", "t0", "--memory", "512m", "--pids", "128", "--timeout", "600"}));
  EXPECT_EQ(body["runtime"], "runsc");
  EXPECT_EQ(body["verify_command"], "make test");
  EXPECT_EQ(body["network"]["allowed_hosts"], (json{"api.github.com", ".npmjs.org"}));
  EXPECT_EQ(body["secrets"], (json{"gh_token", "npm"}));
  EXPECT_EQ(body["parent_task_id"], "t0");
  EXPECT_EQ(body["limits"]["memory_bytes"], 512u << 20);
  EXPECT_EQ(body["limits"]["pids"], 128);
  EXPECT_EQ(body["budgets"]["max_seconds"], 600);
}

TEST(task_request_body, is_accepted_by_the_servers_strict_decoder) {
  auto body = runtime::task_request_body(
    create({"--prompt", "p", "--runtime", "runc", "--verify=true", "--allow", "example.com", "--secret", "s",
            "--parent", "t0", "--memory", "1g", "--pids", "64", "--timeout", "60", "--repo", "r", "--base-ref", "dev"}));
  ASSERT_TRUE(body.ok());
  auto parsed = http::parse_create_task(*body);
  ASSERT_TRUE(parsed.ok()) << parsed.err().detail;
  EXPECT_EQ(parsed->limits.memory_bytes, 1ull << 30);
  EXPECT_EQ(parsed->network.allowed_hosts, std::vector<std::string>{"example.com"});
  EXPECT_EQ(parsed->verify_command, "true");
  EXPECT_EQ(parsed->base_ref, "dev");
}

TEST(task_request_body, refuses_bad_options_naming_the_option) {
  EXPECT_EQ(field_of_error(create({})), "prompt");
  EXPECT_EQ(field_of_error(create({"--prompt", ""})), "prompt");
  EXPECT_EQ(field_of_error(create({"--prompt", "p", "--memory", "lots"})), "memory");
  EXPECT_EQ(field_of_error(create({"--prompt", "p", "--pids", "-1"})), "pids");
  EXPECT_EQ(field_of_error(create({"--prompt", "p", "--timeout", "10m"})), "timeout");
  EXPECT_EQ(field_of_error(create({"--prompt", "p", "--prompt-file", "f"})), "prompt");
  EXPECT_EQ(field_of_error(create({"--script-file", "f"})), "script-file");
  EXPECT_EQ(field_of_error(cli({"task", "create", "--project", "p1", "--agent", "bard", "--prompt", "p"})), "agent");
  EXPECT_EQ(field_of_error(cli({"task", "create", "--agent", "claude", "--prompt", "p"})), "project");
  EXPECT_FALSE(runtime::task_request_body(create({"--prompt", "p", "stray"})).ok());
  EXPECT_EQ(field_of_error(create({"--prompt", "p", "--verify"})), "verify");
}

TEST_F(cli_files, the_prompt_file_is_read_whole) {
  auto path = write("prompt.md", "Fix the flaky test.\n\nKeep the API.\n");
  EXPECT_EQ(body_of(create({"--prompt-file", path}))["prompt"], "Fix the flaky test.\n\nKeep the API.\n");
}

TEST_F(cli_files, a_script_file_is_the_prompt_of_the_script_agent) {
  auto path = write("run.sh", "#!/bin/sh\necho hello > hello.txt\n");
  auto body = body_of(cli({"task", "create", "--project", "p1", "--agent", "script", "--script-file", path}));
  EXPECT_EQ(body["agent_type"], "script");
  EXPECT_EQ(body["prompt"], "#!/bin/sh\necho hello > hello.txt\n");
}

TEST_F(cli_files, a_missing_or_empty_prompt_file_is_refused) {
  EXPECT_EQ(field_of_error(create({"--prompt-file", (dir_ / "absent").string()})), "prompt-file");
  EXPECT_EQ(field_of_error(create({"--prompt-file", write("empty", "")})), "prompt-file");
  EXPECT_EQ(field_of_error(create({"--prompt-file", write("bin", "\xff\xfe")})), "prompt");
}

TEST(project_request_body, takes_the_verify_command_as_the_word_after_the_switch) {
  auto body = runtime::project_request_body(
    cli({"project", "create", "--name", "web", "--repo", "https://example.com/web.git", "--base-ref", "main",
         "--verify", "npm test"}));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(json::parse(*body), (json{{"name", "web"}, {"repo", "https://example.com/web.git"},
                                      {"default_base_ref", "main"}, {"verify_command", "npm test"}}));
  EXPECT_TRUE(http::parse_create_project(*body).ok());
  EXPECT_FALSE(runtime::project_request_body(cli({"project", "create", "--name", "web"})).ok());
}

api::task_view finished_task() {
  api::task_view t;
  t.id = task_id{"t42"};
  t.project = project_id{"p1"};
  t.status = api::task_status::failed;
  t.agent_type = "claude";
  t.runtime = "crun";
  t.failure_reason = "verification_failed";
  t.created_at_us = 1714564800000000;
  t.diff = api::diff_summary{3, 10, 2, "Renamed the flag.\nUpdated the tests."};
  t.pr_url = "https://github.com/o/r/pull/7";
  return t;
}

TEST(format_task, shows_what_people_look_for) {
  auto text = runtime::format_task(http::task_json(finished_task()));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "task t42  failed\n"
                   "  agent     claude on crun\n"
                   "  project   p1\n"
                   "  created   2024-05-01T12:00:00.000000Z\n"
                   "  failure   verification_failed\n"
                   "  diff      3 file(s) changed, +10 -2\n"
                   "    Renamed the flag.\n"
                   "    Updated the tests.\n"
                   "  pr        https://github.com/o/r/pull/7\n");
}

TEST(format_task, leaves_out_what_is_not_there_yet) {
  api::task_view t;
  t.id = task_id{"t1"};
  t.project = project_id{"p1"};
  t.agent_type = "script";
  t.runtime = "runsc";
  auto text = runtime::format_task(http::task_json(t));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("failure"), std::string::npos);
  EXPECT_EQ(text->find("diff"), std::string::npos);
  EXPECT_EQ(text->find("pr "), std::string::npos);
  EXPECT_NE(text->find("task t1  requested\n"), std::string::npos);
  EXPECT_FALSE(runtime::format_task("not json").ok());
  EXPECT_FALSE(runtime::format_task("[1]").ok());
}

TEST(format_task_status, is_one_line_with_reason_and_pull_request) {
  auto line = runtime::format_task_status(http::task_json(finished_task()));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "task t42 failed (verification_failed): https://github.com/o/r/pull/7\n");
}

TEST(format_task_list, aligns_columns_under_a_header) {
  auto a = finished_task();
  auto b = finished_task();
  b.id = task_id{"t7"};
  b.status = api::task_status::running;
  b.failure_reason.clear();
  b.pr_url.clear();
  json page{{"tasks", {json::parse(http::task_json(a)), json::parse(http::task_json(b))}}, {"next_cursor", "17"}};
  auto text = runtime::format_task_list(page.dump());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "ID   STATUS                        AGENT   PROJECT  CREATED                      PR\n"
            "t42  failed (verification_failed)  claude  p1       2024-05-01T12:00:00.000000Z  https://github.com/o/r/pull/7\n"
            "t7   running                       claude  p1       2024-05-01T12:00:00.000000Z\n"
            "more: --cursor 17\n");
  EXPECT_EQ(*runtime::format_task_list(R"({"tasks":[],"next_cursor":null})"), "no tasks\n");
}

TEST(format_events, prints_position_type_and_version) {
  api::event_view e1{9, "task-t1", 1, "task.requested", 1, "{}", 0};
  api::event_view e2{12, "task-t1", 2, "task.scheduled", 1, "{}", 0};
  json list{{"events", {http::to_json(e1), http::to_json(e2)}}};
  EXPECT_EQ(*runtime::format_events(list.dump()), "9   task.requested  1\n12  task.scheduled  2\n");
}

TEST(format_error, names_code_message_and_field) {
  EXPECT_EQ(runtime::format_error(make_error(errc::invalid_argument, "prompt must not be empty", "prompt")),
            "aetherium: invalid_argument: prompt must not be empty (field: prompt)");
  EXPECT_EQ(runtime::format_error(make_error(errc::not_found, "no such task")), "aetherium: not_found: no such task");
  auto unreachable = runtime::format_error(
    make_error(errc::unavailable, "cannot reach http://127.0.0.1:1: Couldn't connect to server"));
  EXPECT_NE(unreachable.find("http://127.0.0.1:1"), std::string::npos);
  EXPECT_NE(unreachable.find("AETHERIUM_SERVER"), std::string::npos);
}

TEST(chunk_text, is_the_text_of_a_log_chunk) {
  EXPECT_EQ(*runtime::chunk_text(R"({"offset":6,"stream":"stdout","text":"hello\n"})"), "hello\n");
  EXPECT_FALSE(runtime::chunk_text("oops").ok());
}

TEST(command_line, repeated_secrets_and_hosts_add_up_and_other_repeats_are_refused) {
  auto body = body_of(create({"--prompt", "p", "--secret", "anthropic_api_key", "--secret", "github_token", "--allow",
                              "api.anthropic.com", "--allow=.github.com"}));
  EXPECT_EQ(body["secrets"], json::array({"anthropic_api_key", "github_token"}));
  EXPECT_EQ(body["network"]["allowed_hosts"], json::array({"api.anthropic.com", ".github.com"}));
  std::vector<std::string> args{"aetherium", "task", "create", "--project", "p1", "--project", "p2"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  auto twice = runtime::parse_command_line(static_cast<int>(argv.size()), argv.data());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.err().field, "project");
  EXPECT_NE(twice.err().detail.find("more than once"), std::string::npos);
}

} // namespace
} // namespace aetherium::testing
