#pragma once

#include <string_view>

#include "events/models/model_usage.hpp"
#include "events/result.hpp"

namespace aetherium::model_gateway {

/// Parses {"anthropic": {"claude-sonnet-4*": {"input_cents_per_mtok": 300, "output_cents_per_mtok": 1500}}, "openai": {...}, "gemini": {...}}.
/// Errors: invalid_argument naming the bad field (unknown provider, negative or non-integer price, not an object).
/// A provider may be left out. Each price needs both fields and no others, so a misspelt
/// field is an error rather than a free model; the field is named as a dotted path
/// ("openai.gpt-5*.output_cents_per_mtok"). Patterns follow models::price_table::set.
result<models::price_table> parse_price_table(std::string_view json);

} // namespace aetherium::model_gateway
