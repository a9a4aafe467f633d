#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aetherium::models {

/// A model provider whose API the model gateway forwards to.
enum class provider { anthropic, openai, gemini };

/// Stable lowercase name: "anthropic", "openai" or "gemini".
const char* to_string(provider p) noexcept;

/// Sets `out` to the provider named `name` (exactly as to_string spells it) and returns
/// true; returns false and leaves `out` alone for any other name.
bool parse_provider(std::string_view name, provider& out) noexcept;

/// Name of the operator secret holding the provider's real API key:
/// "anthropic_api_key", "openai_api_key" or "gemini_api_key".
const char* key_secret(provider p) noexcept;

/// Every provider, in declaration order.
std::vector<provider> all_providers();

/// Tokens one model response consumed, as the provider reported them.
struct usage {
  std::string model; ///< The model that answered; empty when the response named none.
  std::uint64_t input_tokens = 0;  ///< Prompt tokens, cache writes and reads included.
  std::uint64_t output_tokens = 0; ///< Generated tokens, reasoning/thinking included.
};

/// A model's list price in US cents per million tokens.
struct price {
  std::uint64_t input_cents_per_mtok = 0;
  std::uint64_t output_cents_per_mtok = 0;
};

/// Cost in millionths of a cent (tokens x cents per million tokens), saturating at UINT64_MAX.
std::uint64_t cost_microcents(const usage& u, const price& p) noexcept;

/// Prices by provider and model. A pattern is a model name, or a prefix ending in '*'.
class price_table {
public:
  /// Sets the price of `pattern` for provider `p`, replacing an earlier one. A pattern
  /// ending in '*' matches every model name starting with the text before the '*'
  /// ("*" alone matches every model); any other pattern matches that exact name.
  void set(provider p, std::string pattern, price value);

  /// The exact model first, then the longest matching prefix pattern; nullopt when none.
  std::optional<price> find(provider p, std::string_view model) const;

  /// True when no price was set for any provider.
  bool empty() const noexcept;

  /// Number of patterns set, over all providers.
  std::size_t size() const noexcept;

  /// Sets every pattern of `overrides` on this table: patterns present in both take the
  /// price from `overrides`, all others are kept.
  void merge(const price_table& overrides);

private:
  struct patterns {
    std::map<std::string, price, std::less<>> exact;
    std::map<std::string, price, std::less<>> prefix; ///< Keyed by the text before '*'.
  };
  std::map<provider, patterns> by_provider_;
};

/// Public list prices of current models at the time of writing (Claude Opus/Sonnet/Haiku
/// 4.x families, GPT-5 family and gpt-4.1/4o, Gemini 2.5 Pro/Flash families), as prefix
/// patterns such as "claude-sonnet-4*".
///
/// These are defaults an operator overrides with a price file: providers change prices,
/// and the table ignores tiers it cannot see from the token counts alone (long-context
/// surcharges, batch and priority discounts, cheaper cache reads), so a cost computed
/// from it is an estimate for budgets, not an invoice.
price_table default_price_table();

} // namespace aetherium::models
