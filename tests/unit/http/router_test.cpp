#include <gtest/gtest.h>

#include "adapters/http/router.hpp"

namespace aetherium::http {

void dummy(handler_context&) {}

namespace {

const std::vector<route> table = {
  {"GET", "/v1/tasks", "t", api::role::viewer, dummy},
  {"GET", "/v1/tasks/{id}", "t", api::role::viewer, dummy},
  {"DELETE", "/v1/tasks/{id}", "t", api::role::operator_, dummy},
  {"GET", "/v1/tasks/{id}/logs", "t", api::role::viewer, dummy},
};

TEST(router, matches_literal_and_parameter_segments) {
  auto m = match_route(table, "GET", "/v1/tasks/abc%2Ddef/logs");
  ASSERT_NE(m.found, nullptr);
  EXPECT_STREQ(m.found->path, "/v1/tasks/{id}/logs");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "abc-def");
  EXPECT_STREQ(match_route(table, "DELETE", "/v1/tasks/x").found->method, "DELETE");
}

TEST(router, reports_the_allowed_methods_of_a_known_path) {
  auto m = match_route(table, "PUT", "/v1/tasks/x");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_EQ(m.allow, "GET, DELETE");
}

TEST(router, matches_nothing_for_unknown_empty_or_undecodable_segments) {
  for (auto* path : {"/v1/tasks/", "/v1/tasks//logs", "/v1/tasks/%zz", "/v1/task", "", "v1/tasks", "/v1/tasks/x/y"}) {
    auto m = match_route(table, "GET", path);
    EXPECT_EQ(m.found, nullptr) << path;
    EXPECT_TRUE(m.allow.empty()) << path;
  }
}

TEST(router, query_parameters_are_decoded_and_checked) {
  auto q = query_params::parse("status=running&project=a%20b+c&limit=5", {"status", "project", "limit"});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->get("project"), "a b c");
  EXPECT_EQ(*q->number("limit", 1, 10, 50), 5u);
  EXPECT_EQ(*q->number("missing", 1, 10, 50), 50u);
  EXPECT_FALSE(q->number("status", 0, 10, 0).ok());
  EXPECT_EQ(query_params::parse("x=1", {"y"}).err().field, "x");
  EXPECT_EQ(query_params::parse("y=1&y=2", {"y"}).err().field, "y");
  EXPECT_FALSE(query_params::parse("y=%4", {"y"}).ok());
}

TEST(router, decimals_refuse_signs_spaces_and_overflow) {
  std::uint64_t v = 0;
  EXPECT_TRUE(parse_decimal("18446744073709551615", v) == false); // 20 digits
  EXPECT_TRUE(parse_decimal("9999999999999999999", v));
  EXPECT_FALSE(parse_decimal("-1", v));
  EXPECT_FALSE(parse_decimal(" 1", v));
  EXPECT_FALSE(parse_decimal("", v));
}

} // namespace
} // namespace aetherium::http
