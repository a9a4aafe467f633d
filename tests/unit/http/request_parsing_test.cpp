// Request bodies as the API reads them, before any control plane sees them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/json_codec.hpp"

using namespace aetherium;

TEST(request_parsing, prompts_and_verify_commands_get_unix_line_ends) {
  auto task = http::parse_create_task(nlohmann::json{{"project", "p1"},
                                                     {"agent_type", "script"},
                                                     {"prompt", "echo hi > greeting.txt\r\necho done\r\n"},
                                                     {"verify_command", "test -f greeting.txt\r\n"}}
                                        .dump());
  ASSERT_TRUE(task.ok()) << task.err().detail;
  EXPECT_EQ(task->prompt, "echo hi > greeting.txt\necho done\n");
  EXPECT_EQ(task->verify_command, "test -f greeting.txt\n");
  auto project = http::parse_create_project(
    nlohmann::json{{"name", "sample"}, {"repo", "/srv/repos/acme/sample.git"}, {"verify_command", "make\rmake test"}}.dump());
  ASSERT_TRUE(project.ok()) << project.err().detail;
  EXPECT_EQ(project->verify_command, "make\nmake test");
}
