#include <gtest/gtest.h>

#include "adapters/http/client/api_client.hpp"

namespace aetherium::testing {
namespace {

TEST(api_client, statuses_map_to_error_codes_with_message_and_field) {
  http::client_response r;
  r.status = 400;
  r.body = R"({"code":"invalid_argument","message":"prompt must not be empty","field":"prompt"})";
  auto e = http::error_of(r);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.err().code, errc::invalid_argument);
  EXPECT_EQ(e.err().detail, "prompt must not be empty");
  EXPECT_EQ(e.err().field, "prompt");
  for (auto [status, code] : std::vector<std::pair<long, errc>>{{401, errc::unauthorized}, {403, errc::forbidden},
                                                                 {404, errc::not_found}, {409, errc::conflict},
                                                                 {413, errc::invalid_argument},
                                                                 {422, errc::invalid_transition},
                                                                 {429, errc::quota_exceeded},
                                                                 {503, errc::unavailable}, {500, errc::internal}}) {
    r.status = status;
    r.body = "not json";
    EXPECT_EQ(http::error_of(r).err().code, code) << status;
  }
  r.status = 202;
  EXPECT_TRUE(http::error_of(r).ok());
}

TEST(api_client, an_unreachable_server_is_unavailable) {
  http::api_client c{http::client_options{"http://127.0.0.1:1", "", 2000}};
  auto r = c.get_task("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
}

TEST(api_client, path_segments_are_percent_encoded) {
  EXPECT_EQ(http::url_encode("a b/c?d"), "a%20b%2Fc%3Fd");
  EXPECT_EQ(http::url_encode("safe-._~"), "safe-._~");
}

} // namespace
} // namespace aetherium::testing
