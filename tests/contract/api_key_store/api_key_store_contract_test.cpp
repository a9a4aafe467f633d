// The api_key_store contract: every case runs unchanged against each backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "events/clock.hpp"
#include "tests/contract/api_key_store/backend.hpp"
#include "tests/support/eventually.hpp"

using namespace aetherium;
using aetherium::testing::eventually;
using aetherium::testing::make_backend;

namespace {

class api_key_store_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    keys_ = backend_->open();
  }

  /// A new key of `tenant` with a fresh id and hash, created after every earlier one.
  api::api_key_record key(const std::string& tenant, api::role role = api::role::viewer, std::string name = "ci") {
    auto hex = ids_->next_uuid() + ids_->next_uuid();
    hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
    return api::api_key_record{apikey_id{ids_->next_uuid()}, tenant_id{tenant}, role, std::move(name), hex,
                               1'700'000'000'000'000 + ++created_, false};
  }

  /// Adds `r` to `store` (the first store when null) and fails the test if that fails.
  api::api_key_record added(api::api_key_record r, api::api_key_store* store = nullptr) {
    auto res = (store ? *store : *keys_).add(r);
    EXPECT_TRUE(res.ok()) << res.err().detail;
    return r;
  }

  static std::vector<std::string> ids_of(const std::vector<api::api_key_record>& keys) {
    std::vector<std::string> out;
    for (auto& k : keys)
      out.push_back(k.id.str());
    return out;
  }

  static errc error_of(const result<void>& r) { return r.ok() ? errc::internal : r.err().code; }

  // Declared first so every store goes away before the data it reads.
  std::unique_ptr<aetherium::testing::backend> backend_;
  std::shared_ptr<api::api_key_store> keys_;
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::int64_t created_ = 0;
};

void expect_same(const api::api_key_record& got, const api::api_key_record& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.tenant, want.tenant);
  EXPECT_EQ(got.role, want.role);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.secret_hash, want.secret_hash);
  EXPECT_EQ(got.created_at_us, want.created_at_us);
  EXPECT_EQ(got.revoked, want.revoked);
}

TEST_F(api_key_store_contract, an_added_key_is_found_by_its_hash) {
  auto k = added(key("acme", api::role::operator_, "deploy bot ✓"));
  auto found = keys_->find_by_hash(k.secret_hash);
  ASSERT_TRUE(found.ok()) << found.err().detail;
  expect_same(*found, k);
}

TEST_F(api_key_store_contract, an_unknown_hash_is_not_found) {
  added(key("acme"));
  auto found = keys_->find_by_hash(key("acme").secret_hash);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.err().code, errc::not_found);
}

TEST_F(api_key_store_contract, a_taken_id_or_hash_is_a_conflict_and_changes_nothing) {
  auto first = added(key("acme"));
  auto same_id = key("acme");
  same_id.id = first.id;
  EXPECT_EQ(error_of(keys_->add(same_id)), errc::conflict);
  auto same_hash = key("globex");
  same_hash.secret_hash = first.secret_hash;
  EXPECT_EQ(error_of(keys_->add(same_hash)), errc::conflict);
  EXPECT_EQ(keys_->find_by_hash(same_id.secret_hash).err().code, errc::not_found);
  EXPECT_EQ(ids_of(keys_->list(tenant_id{"acme"})), std::vector<std::string>{first.id.str()});
  EXPECT_TRUE(keys_->list(tenant_id{"globex"}).empty());
  expect_same(*keys_->find_by_hash(first.secret_hash), first);
}

TEST_F(api_key_store_contract, racing_adds_of_one_hash_give_it_to_one_key) {
  auto shared = key("acme");
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    auto mine = key("acme");
    mine.secret_hash = shared.secret_hash;
    pool.emplace_back([&, mine] {
      auto r = keys_->add(mine);
      (r.ok() ? ok : conflicts)++;
      if (!r.ok()) {
        EXPECT_EQ(r.err().code, errc::conflict);
      }
    });
  }
  for (auto& th : pool)
    th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(keys_->list(tenant_id{"acme"}).size(), 1u);
}

TEST_F(api_key_store_contract, list_shows_only_the_tenants_keys_oldest_first) {
  auto a1 = added(key("acme", api::role::admin));
  auto b1 = added(key("globex"));
  auto a2 = added(key("acme"));
  auto a3 = added(key("acme", api::role::operator_));
  auto acme = keys_->list(tenant_id{"acme"});
  EXPECT_EQ(ids_of(acme), (std::vector<std::string>{a1.id.str(), a2.id.str(), a3.id.str()}));
  ASSERT_EQ(acme.size(), 3u);
  expect_same(acme[0], a1);
  expect_same(acme[2], a3);
  EXPECT_EQ(ids_of(keys_->list(tenant_id{"globex"})), std::vector<std::string>{b1.id.str()});
  EXPECT_TRUE(keys_->list(tenant_id{"initech"}).empty());
}

TEST_F(api_key_store_contract, revoke_marks_the_key_revoked_and_twice_is_fine) {
  auto k = added(key("acme"));
  auto other = added(key("acme"));
  ASSERT_TRUE(keys_->revoke(tenant_id{"acme"}, k.id).ok());
  EXPECT_TRUE(keys_->find_by_hash(k.secret_hash)->revoked);
  EXPECT_FALSE(keys_->find_by_hash(other.secret_hash)->revoked);
  auto listed = keys_->list(tenant_id{"acme"});
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_TRUE(listed[0].revoked);
  EXPECT_FALSE(listed[1].revoked);
  EXPECT_TRUE(keys_->revoke(tenant_id{"acme"}, k.id).ok());
  EXPECT_TRUE(keys_->find_by_hash(k.secret_hash)->revoked);
}

TEST_F(api_key_store_contract, revoke_in_another_tenant_or_of_an_unknown_key_is_not_found) {
  auto k = added(key("acme"));
  EXPECT_EQ(error_of(keys_->revoke(tenant_id{"globex"}, k.id)), errc::not_found);
  EXPECT_EQ(error_of(keys_->revoke(tenant_id{"acme"}, apikey_id{ids_->next_uuid()})), errc::not_found);
  EXPECT_FALSE(keys_->find_by_hash(k.secret_hash)->revoked);
}

TEST_F(api_key_store_contract, a_store_opened_later_sees_every_key_and_revocation) {
  auto a1 = added(key("acme", api::role::admin));
  auto a2 = added(key("acme"));
  auto b1 = added(key("globex"));
  ASSERT_TRUE(keys_->revoke(tenant_id{"acme"}, a2.id).ok());
  auto reopened = backend_->open();
  auto found = reopened->find_by_hash(a1.secret_hash);
  ASSERT_TRUE(found.ok()) << found.err().detail;
  expect_same(*found, a1);
  auto acme = reopened->list(tenant_id{"acme"});
  EXPECT_EQ(ids_of(acme), (std::vector<std::string>{a1.id.str(), a2.id.str()}));
  ASSERT_EQ(acme.size(), 2u);
  EXPECT_TRUE(acme[1].revoked);
  EXPECT_EQ(ids_of(reopened->list(tenant_id{"globex"})), std::vector<std::string>{b1.id.str()});
  auto same_id = key("acme");
  same_id.id = a1.id;
  EXPECT_EQ(error_of(reopened->add(same_id)), errc::conflict);
  auto same_hash = key("acme");
  same_hash.secret_hash = b1.secret_hash;
  EXPECT_EQ(error_of(reopened->add(same_hash)), errc::conflict);
}

TEST_F(api_key_store_contract, open_stores_follow_each_others_writes_in_log_order) {
  auto other = backend_->open();
  auto a1 = added(key("acme"));
  auto a2 = added(key("acme"), other.get());
  auto a3 = added(key("acme"));
  auto want = std::vector<std::string>{a1.id.str(), a2.id.str(), a3.id.str()};
  for (auto* store : {keys_.get(), other.get()}) {
    EXPECT_TRUE(eventually([&] { return store->list(tenant_id{"acme"}).size() >= 3; }));
    EXPECT_EQ(ids_of(store->list(tenant_id{"acme"})), want);
    EXPECT_TRUE(store->find_by_hash(a2.secret_hash).ok());
  }
  ASSERT_TRUE(other->revoke(tenant_id{"acme"}, a1.id).ok());
  EXPECT_TRUE(eventually([&] { return keys_->find_by_hash(a1.secret_hash)->revoked; }));
}

} // namespace
