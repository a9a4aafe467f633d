#include <gtest/gtest.h>

#include <limits>

#include "events/models/model_usage.hpp"

namespace aetherium::models {
namespace {

constexpr auto max_u64 = std::numeric_limits<std::uint64_t>::max();

TEST(model_usage, providers_round_trip_through_their_names) {
  ASSERT_EQ(all_providers().size(), 3u);
  for (auto p : all_providers()) {
    provider parsed = p == provider::anthropic ? provider::gemini : provider::anthropic;
    ASSERT_TRUE(parse_provider(to_string(p), parsed)) << to_string(p);
    EXPECT_EQ(parsed, p);
  }
  EXPECT_STREQ(to_string(provider::anthropic), "anthropic");
  EXPECT_STREQ(to_string(provider::openai), "openai");
  EXPECT_STREQ(to_string(provider::gemini), "gemini");
}

TEST(model_usage, unknown_provider_names_are_refused_and_leave_the_output_alone) {
  provider out = provider::openai;
  EXPECT_FALSE(parse_provider("mistral", out));
  EXPECT_FALSE(parse_provider("Anthropic", out));
  EXPECT_FALSE(parse_provider("", out));
  EXPECT_FALSE(parse_provider("gemini ", out));
  EXPECT_EQ(out, provider::openai);
}

TEST(model_usage, each_provider_names_its_key_secret) {
  EXPECT_STREQ(key_secret(provider::anthropic), "anthropic_api_key");
  EXPECT_STREQ(key_secret(provider::openai), "openai_api_key");
  EXPECT_STREQ(key_secret(provider::gemini), "gemini_api_key");
}

TEST(model_usage, cost_is_tokens_times_cents_per_million_in_microcents) {
  // A million input tokens at $3 and 200k output tokens at $15: $3 + $3 = 600 cents.
  usage u{"claude-sonnet-4-5", 1'000'000, 200'000};
  price p{300, 1500};
  EXPECT_EQ(cost_microcents(u, p), 600'000'000u);
  EXPECT_EQ(cost_microcents(usage{"m", 1, 0}, price{300, 1500}), 300u);
  EXPECT_EQ(cost_microcents(usage{"m", 0, 1}, price{300, 1500}), 1500u);
  EXPECT_EQ(cost_microcents(usage{"m", 2095, 503}, price{300, 1500}), 2095u * 300 + 503u * 1500);
  EXPECT_EQ(cost_microcents(usage{"m", 0, 0}, price{max_u64, max_u64}), 0u);
  EXPECT_EQ(cost_microcents(usage{"m", max_u64, max_u64}, price{0, 0}), 0u);
}

TEST(model_usage, cost_saturates_instead_of_wrapping) {
  EXPECT_EQ(cost_microcents(usage{"m", max_u64, 0}, price{2, 0}), max_u64);
  EXPECT_EQ(cost_microcents(usage{"m", 0, max_u64 / 2 + 1}, price{0, 2}), max_u64);
  // Each product fits, their sum does not.
  std::uint64_t half = std::uint64_t{1} << 63;
  EXPECT_EQ(cost_microcents(usage{"m", half, half}, price{1, 1}), max_u64);
  EXPECT_EQ(cost_microcents(usage{"m", half - 1, half}, price{1, 1}), max_u64);
  EXPECT_EQ(cost_microcents(usage{"m", half - 1, half - 1}, price{1, 1}), max_u64 - 1);
  EXPECT_EQ(cost_microcents(usage{"m", max_u64, 1}, price{1, 0}), max_u64);
}

TEST(price_table, an_exact_model_beats_any_prefix) {
  price_table t;
  t.set(provider::openai, "gpt-5*", {125, 1000});
  t.set(provider::openai, "gpt-5-mini", {25, 200});
  t.set(provider::openai, "gpt-5-min*", {1, 1});
  auto exact = t.find(provider::openai, "gpt-5-mini");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->input_cents_per_mtok, 25u);
  EXPECT_EQ(exact->output_cents_per_mtok, 200u);
  // The exact pattern does not match a longer name; the longest prefix does.
  auto dated = t.find(provider::openai, "gpt-5-mini-2025-08-07");
  ASSERT_TRUE(dated);
  EXPECT_EQ(dated->input_cents_per_mtok, 1u);
}

TEST(price_table, the_longest_matching_prefix_wins) {
  price_table t;
  t.set(provider::gemini, "gemini-2.5-flash*", {30, 250});
  t.set(provider::gemini, "gemini-2.5-flash-lite*", {10, 40});
  t.set(provider::gemini, "gemini*", {999, 999});
  EXPECT_EQ(t.find(provider::gemini, "gemini-2.5-flash-lite-preview-06-17")->input_cents_per_mtok, 10u);
  EXPECT_EQ(t.find(provider::gemini, "gemini-2.5-flash")->input_cents_per_mtok, 30u);
  EXPECT_EQ(t.find(provider::gemini, "gemini-2.5-flash-preview-05-20")->input_cents_per_mtok, 30u);
  EXPECT_EQ(t.find(provider::gemini, "gemini-2.5-pro")->input_cents_per_mtok, 999u);
  EXPECT_FALSE(t.find(provider::gemini, "learnlm-2.0"));
  EXPECT_FALSE(t.find(provider::gemini, ""));
}

TEST(price_table, a_prefix_matches_the_bare_name_and_a_lone_star_matches_everything) {
  price_table t;
  t.set(provider::anthropic, "claude-sonnet-4*", {300, 1500});
  EXPECT_TRUE(t.find(provider::anthropic, "claude-sonnet-4"));
  EXPECT_FALSE(t.find(provider::anthropic, "claude-sonnet-"));
  EXPECT_FALSE(t.find(provider::anthropic, "claude-sonnet"));
  t.set(provider::anthropic, "*", {7, 8});
  EXPECT_EQ(t.find(provider::anthropic, "anything")->output_cents_per_mtok, 8u);
  EXPECT_EQ(t.find(provider::anthropic, "")->output_cents_per_mtok, 8u);
  EXPECT_EQ(t.find(provider::anthropic, "claude-sonnet-4-5")->output_cents_per_mtok, 1500u);
}

TEST(price_table, providers_do_not_share_prices) {
  price_table t;
  EXPECT_TRUE(t.empty());
  t.set(provider::openai, "*", {1, 1});
  EXPECT_FALSE(t.empty());
  EXPECT_TRUE(t.find(provider::openai, "gpt-4o"));
  EXPECT_FALSE(t.find(provider::anthropic, "gpt-4o"));
  EXPECT_FALSE(t.find(provider::gemini, "gpt-4o"));
}

TEST(price_table, setting_a_pattern_again_replaces_its_price) {
  price_table t;
  t.set(provider::openai, "gpt-4o*", {250, 1000});
  t.set(provider::openai, "gpt-4o*", {1, 2});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find(provider::openai, "gpt-4o")->input_cents_per_mtok, 1u);
}

TEST(price_table, merge_overrides_shared_patterns_and_keeps_the_rest) {
  price_table base;
  base.set(provider::openai, "gpt-4o*", {250, 1000});
  base.set(provider::openai, "gpt-4o-mini*", {15, 60});
  price_table overrides;
  overrides.set(provider::openai, "gpt-4o*", {200, 800});
  overrides.set(provider::gemini, "gemini-x", {1, 2});
  base.merge(overrides);
  EXPECT_EQ(base.size(), 3u);
  EXPECT_EQ(base.find(provider::openai, "gpt-4o-2024-08-06")->input_cents_per_mtok, 200u);
  EXPECT_EQ(base.find(provider::openai, "gpt-4o-mini")->input_cents_per_mtok, 15u);
  EXPECT_EQ(base.find(provider::gemini, "gemini-x")->output_cents_per_mtok, 2u);
}

struct expected_price {
  provider p;
  const char* model;
  std::uint64_t in, out;
};

TEST(price_table, the_defaults_price_the_current_models_of_every_provider) {
  auto t = default_price_table();
  const expected_price cases[] = {
    {provider::anthropic, "claude-sonnet-4-5-20250929", 300, 1500},
    {provider::anthropic, "claude-sonnet-4-20250514", 300, 1500},
    {provider::anthropic, "claude-opus-4-5-20251101", 500, 2500},
    {provider::anthropic, "claude-opus-4-1-20250805", 1500, 7500},
    {provider::anthropic, "claude-opus-4-20250514", 1500, 7500},
    {provider::anthropic, "claude-opus-4-0", 1500, 7500},
    {provider::anthropic, "claude-haiku-4-5-20251001", 100, 500},
    {provider::openai, "gpt-5", 125, 1000},
    {provider::openai, "gpt-5-codex", 125, 1000},
    {provider::openai, "gpt-5-mini-2025-08-07", 25, 200},
    {provider::openai, "gpt-5-nano", 5, 40},
    {provider::openai, "gpt-4.1-2025-04-14", 200, 800},
    {provider::openai, "gpt-4.1-mini", 40, 160},
    {provider::openai, "gpt-4o-2024-08-06", 250, 1000},
    {provider::openai, "gpt-4o-mini-2024-07-18", 15, 60},
    {provider::gemini, "gemini-2.5-pro", 125, 1000},
    {provider::gemini, "gemini-2.5-flash", 30, 250},
    {provider::gemini, "gemini-2.5-flash-lite", 10, 40},
  };
  for (const auto& c : cases) {
    auto found = t.find(c.p, c.model);
    ASSERT_TRUE(found) << c.model;
    EXPECT_EQ(found->input_cents_per_mtok, c.in) << c.model;
    EXPECT_EQ(found->output_cents_per_mtok, c.out) << c.model;
  }
  EXPECT_FALSE(t.find(provider::openai, "claude-sonnet-4-5"));
  EXPECT_FALSE(t.find(provider::anthropic, "some-unknown-model"));
}

} // namespace
} // namespace aetherium::models
