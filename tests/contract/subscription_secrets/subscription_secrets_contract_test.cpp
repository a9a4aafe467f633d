// One suite of cases, run against the in-memory secrets and the file adapter (a temp dir).
#include <filesystem>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "adapters/secrets/file_subscription_secrets.hpp"

namespace aetherium::testing {
namespace {

using notifications::subscription_id;
using notifications::subscription_secrets;

enum class kind { memory, file };

class subscription_secrets_contract : public ::testing::TestWithParam<kind> {
protected:
  subscription_secrets_contract() {
    std::string pattern = "/tmp/subsecrets.XXXXXX";
    dir_ = ::mkdtemp(pattern.data());
    if (GetParam() == kind::memory)
      secrets_ = std::make_shared<notifications::memory_subscription_secrets>();
    else
      secrets_ = make_file_subscription_secrets(dir_ + "/s");
  }
  ~subscription_secrets_contract() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::shared_ptr<subscription_secrets> secrets_;
};

TEST_P(subscription_secrets_contract, a_secret_put_is_read_back_per_tenant) {
  ASSERT_TRUE(secrets_->put(tenant_id{"acme"}, subscription_id{"s1"}, "one").ok());
  ASSERT_TRUE(secrets_->put(tenant_id{"beta"}, subscription_id{"s1"}, "two").ok());
  EXPECT_EQ(secrets_->get(tenant_id{"acme"}, subscription_id{"s1"}).value(), "one");
  EXPECT_EQ(secrets_->get(tenant_id{"beta"}, subscription_id{"s1"}).value(), "two");
  ASSERT_TRUE(secrets_->put(tenant_id{"acme"}, subscription_id{"s1"}, "three").ok());
  EXPECT_EQ(secrets_->get(tenant_id{"acme"}, subscription_id{"s1"}).value(), "three");
}

TEST_P(subscription_secrets_contract, missing_and_erased_secrets_are_not_found) {
  EXPECT_EQ(secrets_->get(tenant_id{"acme"}, subscription_id{"none"}).err().code, errc::not_found);
  ASSERT_TRUE(secrets_->put(tenant_id{"acme"}, subscription_id{"s1"}, "one").ok());
  ASSERT_TRUE(secrets_->erase(tenant_id{"acme"}, subscription_id{"s1"}).ok());
  ASSERT_TRUE(secrets_->erase(tenant_id{"acme"}, subscription_id{"s1"}).ok());
  EXPECT_EQ(secrets_->get(tenant_id{"acme"}, subscription_id{"s1"}).err().code, errc::not_found);
}

TEST_P(subscription_secrets_contract, names_that_leave_the_tenant_are_never_read) {
  if (GetParam() == kind::file) {
    EXPECT_FALSE(secrets_->put(tenant_id{".."}, subscription_id{"x"}, "v").ok());
  }
  EXPECT_EQ(secrets_->get(tenant_id{"acme"}, subscription_id{"../beta/s1"}).err().code, errc::not_found);
}

INSTANTIATE_TEST_SUITE_P(both, subscription_secrets_contract, ::testing::Values(kind::memory, kind::file),
                         [](const auto& info) { return info.param == kind::memory ? "memory" : "file"; });

TEST(file_subscription_secrets, files_are_readable_by_their_owner_only) {
  std::string pattern = "/tmp/subsecrets.XXXXXX";
  std::string dir = ::mkdtemp(pattern.data());
  auto secrets = make_file_subscription_secrets(dir + "/s");
  ASSERT_TRUE(secrets->put(tenant_id{"acme"}, subscription_id{"s1"}, "one").ok());
  struct stat st{};
  ASSERT_EQ(::stat((dir + "/s/acme/s1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir + "/s/acme").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace aetherium::testing
