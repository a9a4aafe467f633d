#include "adapters/model_gateway/price_config.hpp"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace aetherium::model_gateway {

namespace {

using nlohmann::json;

error bad_field(std::string field, std::string detail) {
  return make_error(errc::invalid_argument, std::move(detail), std::move(field));
}

/// Reads obj[key] as a price in cents: a non-negative integer.
result<std::uint64_t> read_cents(const json& obj, const char* key, const std::string& where) {
  auto field = where + "." + key;
  auto it = obj.find(key);
  if (it == obj.end()) return bad_field(field, field + " is missing");
  if (!it->is_number_unsigned()) {
    return bad_field(field, field + " must be a non-negative integer (US cents per million tokens)");
  }
  return it->get<std::uint64_t>();
}

/// Reads one price object, at `where` ("openai.gpt-5*").
result<models::price> read_price(const json& value, const std::string& where) {
  if (!value.is_object()) {
    return bad_field(where, where + " must be an object with input_cents_per_mtok and output_cents_per_mtok");
  }
  for (const auto& [key, unused] : value.items()) {
    if (key != "input_cents_per_mtok" && key != "output_cents_per_mtok") {
      return bad_field(where + "." + key, "unknown field " + where + "." + key);
    }
  }
  auto input = read_cents(value, "input_cents_per_mtok", where);
  if (!input) return input.err();
  auto output = read_cents(value, "output_cents_per_mtok", where);
  if (!output) return output.err();
  return models::price{*input, *output};
}

/// Reads the patterns of one provider into `table`.
result<void> read_provider(models::provider p, const json& patterns, const std::string& name,
                           models::price_table& table) {
  if (!patterns.is_object()) return bad_field(name, name + " must be an object of model patterns");
  for (const auto& [pattern, value] : patterns.items()) {
    if (pattern.empty()) return bad_field(name, name + " has an empty model pattern");
    auto price = read_price(value, name + "." + pattern);
    if (!price) return price.err();
    table.set(p, pattern, *price);
  }
  return {};
}

} // namespace

result<models::price_table> parse_price_table(std::string_view text) {
  auto doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error(errc::invalid_argument, "the price table is not valid JSON");
  if (!doc.is_object()) {
    return make_error(errc::invalid_argument, "the price table must be an object keyed by provider");
  }
  models::price_table table;
  for (const auto& [name, patterns] : doc.items()) {
    models::provider p = models::provider::anthropic;
    if (!models::parse_provider(name, p)) {
      return bad_field(name, "unknown provider " + name + " (anthropic, openai or gemini)");
    }
    if (auto read = read_provider(p, patterns, name, table); !read) return read.err();
  }
  return table;
}

} // namespace aetherium::model_gateway
