#include <gtest/gtest.h>

#include <jwt.h>

#include "adapters/http/auth/authenticator.hpp"

namespace aetherium::testing {
namespace {

constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "a-test-secret-of-at-least-32-bytes";

http::jwt_claims claims() {
  http::jwt_claims c;
  c.issuer = "aetherium";
  c.subject = "alice";
  c.tenant = tenant_id{"acme"};
  c.role = api::role::operator_;
  c.issued_at = now;
  c.expires_at = now + 600;
  return c;
}

result<http::jwt_claims> verify(const std::string& token, std::int64_t at = now) {
  return http::verify_jwt_hs256(token, secret, "aetherium", at, 30);
}

/// A token signed by libjwt with any algorithm and key, bypassing sign_jwt_hs256.
std::string raw_token(jwt_alg_t alg, const std::string& key, const std::string& grants) {
  jwt_t* j = nullptr;
  jwt_new(&j);
  jwt_add_grants_json(j, grants.c_str());
  jwt_set_alg(j, alg, key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
              static_cast<int>(key.size()));
  char* text = jwt_encode_str(j);
  std::string out = text ? text : "";
  free(text);
  jwt_free(j);
  return out;
}

const std::string grants =
  R"({"iss":"aetherium","sub":"alice","tenant":"acme","role":"admin","exp":1700000600})";

TEST(jwt, a_signed_token_round_trips_its_claims) {
  auto token = http::sign_jwt_hs256(secret, claims());
  ASSERT_TRUE(token.ok());
  auto c = verify(*token);
  ASSERT_TRUE(c.ok()) << c.err().detail;
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->tenant.str(), "acme");
  EXPECT_EQ(c->role, api::role::operator_);
  EXPECT_EQ(c->expires_at, now + 600);
}

TEST(jwt, expiry_is_checked_with_the_allowed_skew) {
  auto token = *http::sign_jwt_hs256(secret, claims());
  EXPECT_TRUE(verify(token, now + 600 + 29).ok());
  auto late = verify(token, now + 600 + 30);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.err().code, errc::unauthorized);
  EXPECT_NE(late.err().detail.find("expired"), std::string::npos);
}

TEST(jwt, not_before_and_issuer_are_checked) {
  auto c = claims();
  c.not_before = now + 120;
  auto early = *http::sign_jwt_hs256(secret, c);
  EXPECT_FALSE(verify(early).ok());
  EXPECT_TRUE(verify(early, now + 100).ok());
  c = claims();
  c.issuer = "mallory";
  EXPECT_FALSE(verify(*http::sign_jwt_hs256(secret, c)).ok());
}

TEST(jwt, tokens_without_exp_or_with_a_string_exp_are_refused) {
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS256, secret, R"({"iss":"aetherium","sub":"a","tenant":"t","role":"admin"})")).ok());
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS256, secret,
                                R"({"iss":"aetherium","sub":"a","tenant":"t","role":"admin","exp":"2099"})")).ok());
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS256, secret,
                                R"({"iss":"aetherium","sub":"a","tenant":"t","role":"root","exp":1700000600})")).ok());
  EXPECT_TRUE(verify(raw_token(JWT_ALG_HS256, secret, grants)).ok());
}

TEST(jwt, unsigned_and_other_algorithms_are_refused) {
  auto none = raw_token(JWT_ALG_NONE, "", grants);
  ASSERT_FALSE(none.empty());
  auto r = verify(none);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().detail.find("HS256"), std::string::npos) << r.err().detail;
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS512, secret, grants)).ok());
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS384, secret, grants)).ok());
}

TEST(jwt, a_token_signed_with_another_key_or_altered_is_refused) {
  EXPECT_FALSE(verify(raw_token(JWT_ALG_HS256, "another-secret-another-secret-!!", grants)).ok());
  auto token = *http::sign_jwt_hs256(secret, claims());
  auto dot = token.find('.');
  auto forged = *http::sign_jwt_hs256(secret, [] {
    auto c = claims();
    c.role = api::role::admin;
    return c;
  }());
  // Claims of one token with the signature of another.
  auto spliced = forged.substr(0, forged.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_FALSE(verify(spliced).ok());
  EXPECT_FALSE(verify(token.substr(0, dot)).ok());
  EXPECT_FALSE(verify("").ok());
}

TEST(jwt, an_empty_secret_refuses_every_token) {
  auto token = *http::sign_jwt_hs256(secret, claims());
  EXPECT_FALSE(http::verify_jwt_hs256(token, "", "aetherium", now, 30).ok());
  EXPECT_FALSE(http::sign_jwt_hs256("", claims()).ok());
}

} // namespace
} // namespace aetherium::testing
