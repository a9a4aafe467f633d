// Which options each command takes: a misspelled option is an error, never ignored.
#include <gtest/gtest.h>

#include "runtime/cli_options.hpp"
#include "runtime/tenant_commands.hpp"

namespace aetherium::testing {
namespace {

using runtime::command_line;

command_line cli(std::vector<std::string> args) {
  args.insert(args.begin(), "aetherium");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  auto cmd = runtime::parse_command_line(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(cmd.ok());
  return cmd.ok() ? *cmd : command_line{};
}

std::string refusal(std::vector<std::string> args) {
  auto checked = runtime::check_options(cli(std::move(args)));
  return checked.ok() ? std::string{"(accepted)"} : checked.err().detail;
}

TEST(cli_options, a_misspelled_option_with_a_value_is_refused_with_the_near_match) {
  auto detail = refusal({"task", "create", "--project", "p", "--agent", "script", "--prompt", "true", "--timout", "1"});
  EXPECT_NE(detail.find("unknown option --timout"), std::string::npos) << detail;
  EXPECT_NE(detail.find("did you mean --timeout?"), std::string::npos) << detail;
  EXPECT_NE(detail.find("aetherium task create --help"), std::string::npos) << detail;
  auto checked = runtime::check_options(cli({"task", "create", "--timout", "1"}));
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.err().code, errc::invalid_argument);
  EXPECT_EQ(checked.err().field, "--timout");
}

TEST(cli_options, unknown_switches_and_options_far_from_any_are_refused_without_a_guess) {
  auto detail = refusal({"task", "logs", "t1", "--folow"});
  EXPECT_NE(detail.find("unknown option --folow"), std::string::npos) << detail;
  EXPECT_NE(detail.find("did you mean --follow?"), std::string::npos) << detail;
  detail = refusal({"task", "get", "t1", "--frobnicate=yes"});
  EXPECT_NE(detail.find("unknown option --frobnicate"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("did you mean"), std::string::npos) << detail;
  detail = refusal({"task", "logs", "t1", "-x"});
  EXPECT_NE(detail.find("unknown option -x"), std::string::npos) << detail;
}

TEST(cli_options, a_known_option_that_ends_the_line_is_recorded_as_missing_its_value) {
  auto cmd = cli({"task", "logs", "t1", "--reconnect-timeout"});
  EXPECT_EQ(cmd.missing_value, "--reconnect-timeout");
  EXPECT_TRUE(runtime::check_options(cmd).ok());
  EXPECT_EQ(cli({"task", "logs", "t1", "-f"}).missing_value, "") << "a switch takes no value";
}

TEST(cli_options, an_option_of_another_command_is_refused) {
  EXPECT_NE(refusal({"task", "list", "--prompt", "x"}).find("unknown option --prompt"), std::string::npos);
  EXPECT_NE(refusal({"server", "--json"}).find("unknown option --json"), std::string::npos);
  EXPECT_NE(refusal({"migrate", "up", "--tenant", "acme"}).find("unknown option --tenant"), std::string::npos);
}

TEST(cli_options, every_documented_option_is_accepted) {
  EXPECT_EQ(refusal({"task", "create", "--project", "p", "--agent", "script", "--prompt", "true", "--timeout", "1",
                     "--memory", "1g", "--pids", "9", "--allow", "a.com", "--secret", "s", "--runtime", "crun",
                     "--repo", "/r", "--base-ref", "main", "--parent", "t0", "--verify=true", "--idempotency-key",
                     "k", "--follow", "--reconnect-timeout", "5", "--json", "--server", "s", "--token", "t"}),
            "(accepted)");
  EXPECT_EQ(refusal({"task", "logs", "t1", "-f", "--reconnect-timeout", "90"}), "(accepted)");
  EXPECT_EQ(refusal({"task", "list", "--project", "p", "--status", "failed", "--limit", "3", "--cursor", "c"}),
            "(accepted)");
  EXPECT_EQ(refusal({"project", "create", "--name", "n", "--repo", "r", "--base-ref", "b", "--verify", "make"}),
            "(accepted)");
  EXPECT_EQ(refusal({"admin", "create-key", "--tenant", "t", "--role", "admin", "--name", "n", "--json"}),
            "(accepted)");
  EXPECT_EQ(refusal({"admin", "revoke-key", "--tenant", "t", "--id", "k"}), "(accepted)");
  EXPECT_EQ(refusal({"admin", "tenant", "set-quota", "--tenant", "t", "--max-live-tasks", "1", "--max-sandboxes", "2",
                     "--max-memory", "1g", "--json"}),
            "(accepted)");
  EXPECT_EQ(refusal({"admin", "tenant", "create", "--tenant", "t", "--name", "T"}), "(accepted)");
  EXPECT_EQ(refusal({"admin", "node-token", "--note", "rack 3", "--ttl", "3600", "--json"}), "(accepted)");
  EXPECT_EQ(refusal({"admin", "node-token", "--revoke", "0123456789abcdef"}), "(accepted)");
  EXPECT_EQ(refusal({"admin", "node-tokens", "--json"}), "(accepted)");
  EXPECT_NE(refusal({"admin", "node-tokens", "--note", "x"}), "(accepted)");
  EXPECT_NE(refusal({"admin", "node-token", "--tenant", "t"}), "(accepted)");
  EXPECT_EQ(refusal({"migrate", "down", "--steps", "2", "--database-url", "x"}), "(accepted)");
  EXPECT_EQ(refusal({"replay", "--verify"}), "(accepted)");
  EXPECT_EQ(refusal({"server", "--listen", "127.0.0.1:1", "--max-tasks", "2", "--repo-roots", "/srv"}), "(accepted)");
}

TEST(cli_options, a_quota_is_a_number_unlimited_or_default) {
  EXPECT_EQ(*runtime::parse_quota("3", false), std::optional<std::uint64_t>{3});
  EXPECT_EQ(*runtime::parse_quota("unlimited", false), std::optional<std::uint64_t>{0});
  EXPECT_EQ(*runtime::parse_quota("0", false), std::optional<std::uint64_t>{0});
  EXPECT_EQ(*runtime::parse_quota("default", false), std::nullopt);
  EXPECT_EQ(*runtime::parse_quota("2g", true), std::optional<std::uint64_t>{2ull << 30});
  for (auto bad : {"", "-1", "2g", "1.5", "lots", "99999999999999999999"})
    EXPECT_FALSE(runtime::parse_quota(bad, false).ok()) << bad;
  EXPECT_FALSE(runtime::parse_quota("12x", true).ok());
}

TEST(cli_options, task_create_help_lists_every_option_it_takes) {
  auto help = runtime::command_help(cli({"task", "create", "--help"}));
  for (auto option : {"--project", "--agent", "--prompt", "--prompt-file", "--script-file", "--repo", "--base-ref",
                      "--runtime", "--memory", "--pids", "--timeout", "--allow", "--secret", "--verify", "--parent",
                      "--idempotency-key", "--follow", "--reconnect-timeout", "--json", "--server", "--token"})
    EXPECT_NE(help.find(std::string{"  "} + option + " "), std::string::npos) << option;
  EXPECT_NE(runtime::command_help(cli({"task", "logs", "--help"})).find("--reconnect-timeout"), std::string::npos);
  EXPECT_EQ(runtime::command_help(cli({"server", "--help"})), "");
}

} // namespace
} // namespace aetherium::testing
