#include <gtest/gtest.h>

#include "adapters/http/auth/authenticator.hpp"
#include "events/sha256.hpp"

namespace aetherium::testing {
namespace {

class api_keys : public ::testing::Test {
protected:
  std::shared_ptr<api::api_key_store> store_ = api::make_memory_api_key_store();
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<http::authenticator> auth_ =
    http::make_authenticator(http::auth_options{}, store_, clock_, ids_);
};

TEST_F(api_keys, a_key_is_random_prefixed_and_stored_only_as_its_sha256) {
  auto a = http::issue_api_key(*store_, *clock_, *ids_, tenant_id{"acme"}, api::role::admin, "bootstrap");
  auto b = http::issue_api_key(*store_, *clock_, *ids_, tenant_id{"acme"}, api::role::admin, "bootstrap");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->key.rfind("ak_", 0), 0u);
  EXPECT_EQ(a->key.size(), 3u + 43u); // 32 random bytes, base64url
  EXPECT_NE(a->key, b->key);
  EXPECT_EQ(a->record.secret_hash, sha256_hex(a->key));
  EXPECT_EQ(http::hash_api_key(a->key), sha256_hex(a->key));
  for (auto& r : store_->list(tenant_id{"acme"}))
    EXPECT_EQ(r.secret_hash.find(a->key), std::string::npos);
}

TEST_F(api_keys, a_key_authenticates_as_its_tenant_and_role_until_revoked) {
  auto k = http::issue_api_key(*store_, *clock_, *ids_, tenant_id{"acme"}, api::role::viewer, "ci");
  auto who = auth_->authenticate("Bearer " + k->key);
  ASSERT_TRUE(who.ok()) << who.err().detail;
  EXPECT_EQ(who->caller.tenant.str(), "acme");
  EXPECT_EQ(who->caller.role, api::role::viewer);
  EXPECT_EQ(who->caller.principal, "key:" + k->record.id.str());
  EXPECT_EQ(who->rate_key, who->caller.principal);
  ASSERT_TRUE(auth_->revoke_key(tenant_id{"acme"}, k->record.id).ok());
  EXPECT_EQ(auth_->authenticate("Bearer " + k->key).err().code, errc::unauthorized);
  EXPECT_EQ(auth_->revoke_key(tenant_id{"globex"}, k->record.id).err().code, errc::not_found);
}

TEST_F(api_keys, malformed_headers_and_unknown_keys_are_unauthorized) {
  for (auto* header : {"", "Bearer", "Bearer ", "Token ak_x", "bearer ak_x", "Bearer ak_unknown"})
    EXPECT_EQ(auth_->authenticate(header).err().code, errc::unauthorized) << header;
  EXPECT_EQ(auth_->authenticate("Bearer a.b.c").err().code, errc::unauthorized) << "JWTs are off without a secret";
}

TEST_F(api_keys, tenants_and_names_are_checked) {
  EXPECT_EQ(http::issue_api_key(*store_, *clock_, *ids_, tenant_id{"bad tenant"}, api::role::admin, "x").err().field,
            "tenant");
  EXPECT_EQ(http::issue_api_key(*store_, *clock_, *ids_, tenant_id{"acme"}, api::role::admin, std::string(101, 'n'))
              .err().field,
            "name");
}

} // namespace
} // namespace aetherium::testing
