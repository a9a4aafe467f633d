// The secret_store contract, against the in-memory fake and the file adapter.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "adapters/secrets/file_secret_store.hpp"
#include "events/secret_store.hpp"

using namespace aetherium;

namespace {

/// Makes a store holding the given secrets.
class backend {
public:
  virtual ~backend() = default;
  virtual void put(const std::string& tenant, const std::string& name, const std::string& value) = 0;
  virtual std::shared_ptr<secret_store> store() = 0;
};

class memory_backend : public backend {
public:
  void put(const std::string& tenant, const std::string& name, const std::string& value) override {
    store_->put(tenant_id{tenant}, name, value);
  }
  std::shared_ptr<secret_store> store() override { return store_; }

private:
  std::shared_ptr<memory_secret_store> store_ = make_memory_secret_store();
};

class file_backend : public backend {
public:
  file_backend() {
    char tmpl[] = "/tmp/secret-store-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~file_backend() override { std::filesystem::remove_all(dir_); }
  void put(const std::string& tenant, const std::string& name, const std::string& value) override {
    std::filesystem::create_directories(dir_ + "/" + tenant);
    std::ofstream{dir_ + "/" + tenant + "/" + name, std::ios::binary} << value;
  }
  std::shared_ptr<secret_store> store() override { return make_file_secret_store(dir_ + "/"); }

private:
  std::string dir_;
};

class secret_store_contract : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (GetParam() == "memory")
      backend_ = std::make_unique<memory_backend>();
    else
      backend_ = std::make_unique<file_backend>();
  }
  std::unique_ptr<backend> backend_;
};

TEST_P(secret_store_contract, a_secret_reads_back_byte_for_byte) {
  std::string value{"line one\nline two\0with a zero", 29};
  backend_->put("acme", "api_key", value);
  auto got = backend_->store()->get(tenant_id{"acme"}, "api_key");
  ASSERT_TRUE(got) << got.err().detail;
  EXPECT_EQ(*got, value);
}

TEST_P(secret_store_contract, a_missing_secret_is_not_found) {
  auto got = backend_->store()->get(tenant_id{"acme"}, "api_key");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.err().code, errc::not_found);
}

TEST_P(secret_store_contract, another_tenants_secret_is_not_found) {
  backend_->put("globex", "api_key", "theirs");
  auto got = backend_->store()->get(tenant_id{"acme"}, "api_key");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.err().code, errc::not_found);
}

TEST_P(secret_store_contract, a_name_that_leaves_the_tenants_secrets_is_not_found) {
  backend_->put("globex", "api_key", "theirs");
  for (std::string name : {"../globex/api_key", "..", ".", ""}) {
    auto got = backend_->store()->get(tenant_id{"acme"}, name);
    ASSERT_FALSE(got) << name;
    EXPECT_EQ(got.err().code, errc::not_found) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(backends, secret_store_contract, ::testing::Values("memory", "file"),
                         [](const auto& info) { return info.param; });

} // namespace
