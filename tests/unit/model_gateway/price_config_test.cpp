#include <gtest/gtest.h>

#include "adapters/model_gateway/price_config.hpp"

namespace aetherium::model_gateway {
namespace {

using models::provider;

TEST(price_config, reads_prices_of_every_provider) {
  auto table = parse_price_table(R"({
    "anthropic": {"claude-sonnet-4*": {"input_cents_per_mtok": 300, "output_cents_per_mtok": 1500}},
    "openai": {"gpt-5*": {"input_cents_per_mtok": 125, "output_cents_per_mtok": 1000},
               "gpt-5-mini": {"output_cents_per_mtok": 200, "input_cents_per_mtok": 25}},
    "gemini": {"gemini-2.5-pro*": {"input_cents_per_mtok": 0, "output_cents_per_mtok": 0}}
  })");
  ASSERT_TRUE(table) << table.err().detail;
  EXPECT_EQ(table->size(), 4u);
  auto sonnet = table->find(provider::anthropic, "claude-sonnet-4-5-20250929");
  ASSERT_TRUE(sonnet);
  EXPECT_EQ(sonnet->input_cents_per_mtok, 300u);
  EXPECT_EQ(sonnet->output_cents_per_mtok, 1500u);
  EXPECT_EQ(table->find(provider::openai, "gpt-5-mini")->output_cents_per_mtok, 200u);
  EXPECT_EQ(table->find(provider::openai, "gpt-5-mini-2025-08-07")->output_cents_per_mtok, 1000u);
  auto free_model = table->find(provider::gemini, "gemini-2.5-pro");
  ASSERT_TRUE(free_model);
  EXPECT_EQ(free_model->input_cents_per_mtok, 0u);
  EXPECT_FALSE(table->find(provider::gemini, "gemini-2.5-flash"));
}

TEST(price_config, providers_may_be_left_out) {
  auto none = parse_price_table("{}");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto one = parse_price_table(R"({"openai": {}})");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->empty());
}

struct bad_case {
  const char* json;
  const char* field; ///< The field the error must name.
};

TEST(price_config, each_bad_input_is_invalid_argument_naming_its_field) {
  const bad_case cases[] = {
    {R"({"mistral": {}})", "mistral"},
    {R"({"OpenAI": {}})", "OpenAI"},
    {R"({"openai": []})", "openai"},
    {R"({"openai": "gpt-5"})", "openai"},
    {R"({"openai": {"gpt-5*": 125}})", "openai.gpt-5*"},
    {R"({"openai": {"gpt-5*": null}})", "openai.gpt-5*"},
    {R"({"anthropic": {"claude-sonnet-4*": {"input_cents_per_mtok": -300, "output_cents_per_mtok": 1500}}})",
     "anthropic.claude-sonnet-4*.input_cents_per_mtok"},
    {R"({"anthropic": {"claude-sonnet-4*": {"input_cents_per_mtok": 300, "output_cents_per_mtok": 15.5}}})",
     "anthropic.claude-sonnet-4*.output_cents_per_mtok"},
    {R"({"anthropic": {"claude-sonnet-4*": {"input_cents_per_mtok": "300", "output_cents_per_mtok": 1500}}})",
     "anthropic.claude-sonnet-4*.input_cents_per_mtok"},
    {R"({"gemini": {"gemini-2.5-pro": {"input_cents_per_mtok": 125}}})", "gemini.gemini-2.5-pro.output_cents_per_mtok"},
    {R"({"gemini": {"gemini-2.5-pro": {"input_cents_per_mtok": 125, "output_cent_per_mtok": 1000}}})",
     "gemini.gemini-2.5-pro.output_cent_per_mtok"},
    {R"({"gemini": {"": {"input_cents_per_mtok": 1, "output_cents_per_mtok": 1}}})", "gemini"},
  };
  for (const auto& c : cases) {
    auto table = parse_price_table(c.json);
    ASSERT_FALSE(table) << c.json;
    EXPECT_EQ(table.err().code, errc::invalid_argument) << c.json;
    EXPECT_EQ(table.err().field, c.field) << c.json;
    EXPECT_NE(table.err().detail.find(c.field), std::string::npos) << table.err().detail;
  }
}

TEST(price_config, a_document_that_is_not_a_json_object_is_refused) {
  for (const char* text : {"", "[]", "42", "\"prices\"", "{\"openai\": {}", "{'openai': {}}"}) {
    auto table = parse_price_table(text);
    ASSERT_FALSE(table) << text;
    EXPECT_EQ(table.err().code, errc::invalid_argument) << text;
  }
}

} // namespace
} // namespace aetherium::model_gateway
