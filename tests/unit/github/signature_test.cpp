// HMAC-SHA256 and GitHub's X-Hub-Signature-256 check.
#include <gtest/gtest.h>

#include "events/github/hmac_sha256.hpp"
#include "tests/support/github_stub/github_stub.hpp"

using namespace aetherium;
using namespace aetherium::github;

namespace {

TEST(hmac_sha256, matches_rfc_4231_vectors_including_a_key_longer_than_a_block) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(github_signature, githubs_documented_test_vector_verifies) {
  auto vector = nlohmann::json::parse(aetherium::testing::read_fixture("signature-test-vector.json"));
  std::string secret = vector["secret"], payload = vector["payload"], header = vector["X-Hub-Signature-256"];
  EXPECT_EQ(hmac_sha256_hex(secret, payload), vector["signature"].get<std::string>());
  EXPECT_EQ(github_signature(secret, payload), header);
  auto verified = verify_github_signature(secret, payload, header);
  EXPECT_TRUE(verified.ok()) << verified.err().detail;
}

TEST(github_signature, a_tampered_body_is_unauthorized) {
  auto header = github_signature("It's a Secret to Everybody", "Hello, World!");
  auto r = verify_github_signature("It's a Secret to Everybody", "Hello, World?", header);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unauthorized);
}

TEST(github_signature, the_wrong_secret_is_unauthorized) {
  auto header = github_signature("another secret", "Hello, World!");
  auto r = verify_github_signature("It's a Secret to Everybody", "Hello, World!", header);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unauthorized);
}

TEST(github_signature, a_header_without_the_sha256_prefix_is_unauthorized) {
  auto hex = hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!");
  for (auto header : {hex, "sha1=" + hex, "SHA256=" + hex, "sha256 " + hex}) {
    auto r = verify_github_signature("It's a Secret to Everybody", "Hello, World!", header);
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.err().code, errc::unauthorized);
  }
}

TEST(github_signature, a_missing_or_truncated_header_is_unauthorized) {
  auto full = github_signature("s3cret", "{}");
  for (auto header : {std::string{}, std::string{"sha256="}, full.substr(0, full.size() - 1), full + "0"}) {
    auto r = verify_github_signature("s3cret", "{}", header);
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.err().code, errc::unauthorized);
  }
}

TEST(github_signature, without_a_secret_nothing_verifies) {
  auto r = verify_github_signature("", "Hello, World!", github_signature("", "Hello, World!"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
}

TEST(constant_time_equal, compares_whole_strings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "xbc"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

} // namespace
