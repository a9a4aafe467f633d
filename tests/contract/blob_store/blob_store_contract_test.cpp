// The blob_store contract: every case runs unchanged against each backend.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/sha256.hpp"
#include "tests/contract/blob_store/backend.hpp"

using namespace aetherium;
using aetherium::testing::make_backend;

namespace {

/// Every byte value once, starting with NUL and ending with 0xff.
std::string every_byte_value() {
  std::string bytes;
  for (int b = 0; b < 256; ++b)
    bytes.push_back(static_cast<char>(b));
  return bytes;
}

class blob_store_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    store_ = backend_->store();
  }

  std::string put(const std::string& bytes) {
    auto ref = store_->put(bytes);
    EXPECT_TRUE(ref.ok()) << ref.err().detail;
    return ref.ok() ? *ref : std::string{};
  }

  errc get_error(const std::string& ref) {
    auto res = store_->get(ref);
    EXPECT_FALSE(res.ok()) << ref;
    return res.ok() ? errc::internal : res.err().code;
  }

  std::unique_ptr<aetherium::testing::backend> backend_;
  std::shared_ptr<blob_store> store_;
};

TEST_F(blob_store_contract, the_ref_is_the_sha256_of_the_bytes_in_lowercase_hex) {
  EXPECT_EQ(put("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto bytes = every_byte_value();
  EXPECT_EQ(put(bytes), "sha256:" + sha256_hex(bytes));
  EXPECT_EQ(*blob_ref_of(bytes), "sha256:" + sha256_hex(bytes));
}

TEST_F(blob_store_contract, binary_bytes_round_trip_unchanged) {
  auto bytes = every_byte_value() + std::string(3, '\0') + "\xff\xfe" + every_byte_value();
  auto ref = put(bytes);
  auto got = store_->get(ref);
  ASSERT_TRUE(got.ok()) << got.err().detail;
  EXPECT_EQ(got->size(), bytes.size());
  EXPECT_EQ(*got, bytes);
}

TEST_F(blob_store_contract, an_empty_blob_round_trips) {
  auto ref = put("");
  EXPECT_EQ(ref, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto got = store_->get(ref);
  ASSERT_TRUE(got.ok()) << got.err().detail;
  EXPECT_TRUE(got->empty());
}

TEST_F(blob_store_contract, putting_the_same_bytes_again_returns_the_same_ref) {
  auto first = put("diff --git a/x b/x\n");
  auto second = put("diff --git a/x b/x\n");
  EXPECT_EQ(first, second);
  auto other = put("diff --git a/y b/y\n");
  EXPECT_NE(first, other);
  EXPECT_EQ(*store_->get(first), "diff --git a/x b/x\n");
  EXPECT_EQ(*store_->get(other), "diff --git a/y b/y\n");
}

TEST_F(blob_store_contract, an_unknown_ref_is_not_found) {
  put("stored");
  EXPECT_EQ(get_error(*blob_ref_of("never stored")), errc::not_found);
}

TEST_F(blob_store_contract, a_malformed_ref_is_an_invalid_argument_naming_the_field) {
  auto valid = *blob_ref_of("x");
  auto hex = valid.substr(7);
  std::vector<std::string> malformed = {
    "",
    "sha256:",
    hex,
    "sha256:" + hex.substr(1),
    "sha256:" + hex + "0",
    "SHA256:" + hex,
    "sha512:" + hex,
    "sha256:" + std::string(64, 'A'),
    "sha256:" + std::string(63, '0') + "g",
    "sha256:" + std::string(63, '0') + '\0',
    " " + valid,
    std::string(10000, 'x'),
  };
  for (auto& ref : malformed) {
    auto res = store_->get(ref);
    ASSERT_FALSE(res.ok()) << ref;
    EXPECT_EQ(res.err().code, errc::invalid_argument) << ref;
    EXPECT_EQ(res.err().field, "ref");
  }
  EXPECT_TRUE(check_blob_ref(valid).ok());
}

TEST_F(blob_store_contract, a_blob_over_the_limit_is_rejected_and_one_at_the_limit_is_stored) {
  std::string bytes(max_blob_bytes + 1, '\x5a');
  auto over = store_->put(bytes);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.err().code, errc::invalid_argument);
  EXPECT_EQ(over.err().field, "bytes");
  bytes.pop_back();
  auto ref = put(bytes);
  auto got = store_->get(ref);
  ASSERT_TRUE(got.ok()) << got.err().detail;
  EXPECT_EQ(got->size(), max_blob_bytes);
  EXPECT_TRUE(*got == bytes); // not EXPECT_EQ: a failure would print 64 MiB
}

TEST_F(blob_store_contract, concurrent_puts_of_the_same_bytes_agree_on_the_ref) {
  constexpr int threads = 8, per_thread = 20;
  std::vector<std::vector<std::string>> refs(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto ref = store_->put("shared output " + std::to_string(i % 4));
        refs[t].push_back(ref.ok() ? *ref : "error: " + ref.err().detail);
      }
    });
  for (auto& th : pool)
    th.join();
  std::set<std::string> distinct;
  for (auto& per : refs)
    distinct.insert(per.begin(), per.end());
  EXPECT_EQ(distinct.size(), 4u);
  for (auto& ref : distinct) {
    auto got = store_->get(ref);
    ASSERT_TRUE(got.ok()) << ref << ": " << got.err().detail;
    EXPECT_EQ(got->rfind("shared output ", 0), 0u);
  }
}

} // namespace
