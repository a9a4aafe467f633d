#include "events/models/model_usage.hpp"

#include <limits>
#include <utility>

namespace aetherium::models {

const char* to_string(provider p) noexcept {
  switch (p) {
    case provider::anthropic: return "anthropic";
    case provider::openai: return "openai";
    case provider::gemini: return "gemini";
  }
  return "anthropic";
}

bool parse_provider(std::string_view name, provider& out) noexcept {
  for (auto p : {provider::anthropic, provider::openai, provider::gemini}) {
    if (name == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

const char* key_secret(provider p) noexcept {
  switch (p) {
    case provider::anthropic: return "anthropic_api_key";
    case provider::openai: return "openai_api_key";
    case provider::gemini: return "gemini_api_key";
  }
  return "anthropic_api_key";
}

std::vector<provider> all_providers() {
  return {provider::anthropic, provider::openai, provider::gemini};
}

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > max_u64 / a) return max_u64;
  return a * b;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > max_u64 - a ? max_u64 : a + b;
}

} // namespace

std::uint64_t cost_microcents(const usage& u, const price& p) noexcept {
  return saturating_add(saturating_mul(u.input_tokens, p.input_cents_per_mtok),
                        saturating_mul(u.output_tokens, p.output_cents_per_mtok));
}

void price_table::set(provider p, std::string pattern, price value) {
  auto& entries = by_provider_[p];
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.pop_back();
    entries.prefix[std::move(pattern)] = value;
  } else {
    entries.exact[std::move(pattern)] = value;
  }
}

std::optional<price> price_table::find(provider p, std::string_view model) const {
  auto entries = by_provider_.find(p);
  if (entries == by_provider_.end()) return std::nullopt;
  if (auto exact = entries->second.exact.find(model); exact != entries->second.exact.end()) {
    return exact->second;
  }
  // Try the model's prefixes from the longest down: the first hit is the longest match.
  const auto& prefixes = entries->second.prefix;
  for (std::size_t n = model.size() + 1; n-- > 0;) {
    if (auto hit = prefixes.find(model.substr(0, n)); hit != prefixes.end()) return hit->second;
  }
  return std::nullopt;
}

bool price_table::empty() const noexcept { return size() == 0; }

std::size_t price_table::size() const noexcept {
  std::size_t n = 0;
  for (const auto& [p, entries] : by_provider_) n += entries.exact.size() + entries.prefix.size();
  return n;
}

void price_table::merge(const price_table& overrides) {
  for (const auto& [p, entries] : overrides.by_provider_) {
    auto& mine = by_provider_[p];
    for (const auto& [name, value] : entries.exact) mine.exact[name] = value;
    for (const auto& [prefix, value] : entries.prefix) mine.prefix[prefix] = value;
  }
}

price_table default_price_table() {
  // US list prices per million tokens, in cents. Where a family spans prices, the bare
  // family pattern carries the current generation's price and older model ids get their
  // own, longer patterns.
  struct entry {
    provider p;
    const char* pattern;
    price value;
  };
  static const entry entries[] = {
    {provider::anthropic, "claude-opus-4*", {500, 2500}},           // Opus 4.5 and later
    {provider::anthropic, "claude-opus-4-0*", {1500, 7500}},        // Opus 4 (alias)
    {provider::anthropic, "claude-opus-4-2025*", {1500, 7500}},     // claude-opus-4-20250514
    {provider::anthropic, "claude-opus-4-1*", {1500, 7500}},        // Opus 4.1
    {provider::anthropic, "claude-sonnet-4*", {300, 1500}},         // Sonnet 4, 4.5
    {provider::anthropic, "claude-haiku-4*", {100, 500}},           // Haiku 4.5
    {provider::anthropic, "claude-3-7-sonnet*", {300, 1500}},
    {provider::anthropic, "claude-3-5-haiku*", {80, 400}},
    {provider::openai, "gpt-5*", {125, 1000}},                      // gpt-5, -codex, 5.1
    {provider::openai, "gpt-5-mini*", {25, 200}},
    {provider::openai, "gpt-5-nano*", {5, 40}},
    {provider::openai, "gpt-5-pro*", {1500, 12000}},
    {provider::openai, "gpt-5.1-codex-mini*", {25, 200}},
    {provider::openai, "gpt-5.2*", {175, 1400}},
    {provider::openai, "gpt-5.2-pro*", {2100, 16800}},
    {provider::openai, "gpt-4.1*", {200, 800}},
    {provider::openai, "gpt-4.1-mini*", {40, 160}},
    {provider::openai, "gpt-4.1-nano*", {10, 40}},
    {provider::openai, "gpt-4o*", {250, 1000}},
    {provider::openai, "gpt-4o-mini*", {15, 60}},
    {provider::gemini, "gemini-2.5-pro*", {125, 1000}},             // prompts up to 200k tokens
    {provider::gemini, "gemini-2.5-flash*", {30, 250}},
    {provider::gemini, "gemini-2.5-flash-lite*", {10, 40}},
    {provider::gemini, "gemini-3-pro*", {200, 1200}},               // prompts up to 200k tokens
    {provider::gemini, "gemini-3-flash*", {50, 300}},
  };
  price_table table;
  for (const auto& e : entries) table.set(e.p, e.pattern, e.value);
  return table;
}

} // namespace aetherium::models
