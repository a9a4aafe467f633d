#include <gtest/gtest.h>

#include "events/canonical_json.hpp"

using namespace aetherium;

namespace {

std::string canon(std::string_view in) {
  auto out = canonical_json(in);
  EXPECT_TRUE(out.ok()) << in << ": " << (out.ok() ? "" : out.err().detail);
  return out.ok() ? *out : std::string{};
}

bool rejected(std::string_view in) {
  auto out = canonical_json(in);
  return !out.ok() && out.err().code == errc::invalid_argument;
}

} // namespace

TEST(canonical_json, orders_keys_and_spaces_like_jsonb_output) {
  EXPECT_EQ(canon(R"( { "bb" : [1, 2 ,{"z":null,"a":true}], "c": "x","aaa":{} } )"),
            R"({"c": "x", "bb": [1, 2, {"a": true, "z": null}], "aaa": {}})");
}

TEST(canonical_json, decodes_escapes_and_writes_only_required_ones) {
  EXPECT_EQ(canon(R"("\u00e9\/\n\u001f\"")"), "\"\xC3\xA9/\\n\\u001f\\\"\"");
  EXPECT_EQ(canon(R"("\ud83d\ude00")"), "\"\xF0\x9F\x98\x80\"");
}

TEST(canonical_json, keeps_numbers_as_written) {
  EXPECT_EQ(canon("[0,-1,1.50,123456789012345678901]"), "[0, -1, 1.50, 123456789012345678901]");
}

TEST(canonical_json, is_idempotent) {
  auto once = canon(R"({"k":{"y":[true,false,"\t"],"x":-2.5}})");
  EXPECT_EQ(canon(once), once);
}

TEST(canonical_json, rejects_what_jsonb_would_rewrite_or_refuse) {
  EXPECT_TRUE(rejected("1e5"));
  EXPECT_TRUE(rejected("-0"));
  EXPECT_TRUE(rejected(R"("\u0000")"));
  EXPECT_TRUE(rejected(R"({"a":1,"a":2})"));
}

TEST(canonical_json, rejects_malformed_text) {
  for (auto bad : {"", "{", "{\"a\"}", "[1,]", "01", "nul", "\"abc", "{} x", "\"\xff\"",
                   "\"\xC3\"", "\"\\ud800\"", "\"\\q\"", "[1 2]", "\"a\nb\""})
    EXPECT_TRUE(rejected(bad)) << bad;
}

TEST(canonical_json, rejects_nesting_deeper_than_64) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_TRUE(rejected(deep));
  std::string ok(60, '[');
  ok += std::string(60, ']');
  EXPECT_TRUE(canonical_json(ok).ok());
}

TEST(canonical_json, object_variant_requires_an_object) {
  EXPECT_FALSE(canonical_json_object("[1]").ok());
  EXPECT_TRUE(canonical_json_object("{}").ok());
}
