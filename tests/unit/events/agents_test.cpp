#include <gtest/gtest.h>

#include "events/agents.hpp"

using namespace aetherium;

TEST(agents, every_default_agent_reads_its_prompt_from_the_prompt_file) {
  auto agents = default_agent_templates();
  for (auto name : {"claude", "gemini", "codex"}) {
    auto argv = agent_command(agents.at(name), "rm -rf / ; $(evil)");
    ASSERT_TRUE(argv.ok());
    std::string joined;
    for (auto& a : *argv)
      joined += a + " ";
    EXPECT_NE(joined.find(prompt_path), std::string::npos) << name;
    EXPECT_EQ(joined.find("evil"), std::string::npos) << name << ": the prompt reached the command line";
  }
}

TEST(agents, the_model_clis_reach_their_provider_only_through_the_gateway_and_hold_no_key) {
  auto agents = default_agent_templates();
  std::map<std::string, std::string> provider{{"claude", "anthropic"}, {"gemini", "gemini"}, {"codex", "openai"}};
  for (auto& [name, p] : provider) {
    auto& agent = agents.at(name);
    EXPECT_EQ(agent.model_providers, std::vector<std::string>{p}) << name;
    EXPECT_TRUE(agent.allowed_hosts.empty()) << name << ": a model CLI needs no host besides the gateway";
    EXPECT_TRUE(agent.secrets.empty()) << name << ": a provider key must never be mounted into the sandbox";
    for (auto& [var, value] : agent.env)
      EXPECT_EQ(var.find("API_KEY"), std::string::npos) << name << " sets " << var;
  }
}

TEST(agents, the_script_agent_runs_the_task_script_without_a_network) {
  auto agent = default_agent_templates().at("script");
  auto argv = agent_command(agent, "ignored");
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, (std::vector<std::string>{"/bin/sh", script_path}));
  EXPECT_TRUE(agent.allowed_hosts.empty());
}

TEST(agents, a_prompt_placeholder_becomes_one_whole_argument) {
  agent_template custom{"echoer", {"echo", "{prompt}"}, "echo", {}, {}};
  auto argv = agent_command(custom, "two words; and more");
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, (std::vector<std::string>{"echo", "two words; and more"}));
  EXPECT_FALSE(agent_command(agent_template{}, "x").ok());
}

TEST(agents, a_follow_up_resumes_a_session_by_an_id_that_cannot_reach_the_shell) {
  auto claude = default_agent_templates().at("claude");
  auto argv = agent_command(claude, "p", "2f1c-ab_9");
  ASSERT_TRUE(argv.ok());
  EXPECT_NE(argv->back().find("--resume 2f1c-ab_9"), std::string::npos) << argv->back();
  EXPECT_EQ(agent_command(claude, "p")->back().find("--resume"), std::string::npos);
  for (const std::string& bad : std::vector<std::string>{"x; rm -rf /", "$(id)", "a b", std::string(129, 'a')})
    EXPECT_FALSE(agent_command(claude, "p", bad).ok()) << bad;
}

TEST(agents, session_files_pack_into_one_blob_and_back) {
  std::vector<agent_file> files{{"a.jsonl", "line\n\n12\nx", 1}, {"b.jsonl", "", 2}, {"c", std::string(3, '\0'), 3}};
  auto back = unpack_agent_files(pack_agent_files(files));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*back)[i].name, files[i].name);
    EXPECT_EQ((*back)[i].content, files[i].content);
  }
  EXPECT_FALSE(unpack_agent_files("a.jsonl\n10\nshort").ok());
  EXPECT_FALSE(unpack_agent_files("a.jsonl\nx\n").ok());
  EXPECT_FALSE(unpack_agent_files("no header").ok());
}
