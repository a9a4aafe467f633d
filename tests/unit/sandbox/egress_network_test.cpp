#include <gtest/gtest.h>

#include <regex>

#include "adapters/sandbox/egress_network.hpp"

using namespace aetherium::sandbox;

TEST(egress_network, accepts_host_and_domain_names_only) {
  for (const char* ok : {"api.anthropic.com", ".github.com", "localhost", "a-b.example"})
    EXPECT_TRUE(valid_allowed_host(ok)) << ok;
  for (const char* bad : {"", ".", "..a", "a..b", "a.", "*.example.com", "exa mple.com",
                          "example.com:443", "a/b", "x\ny"})
    EXPECT_FALSE(valid_allowed_host(bad)) << bad;
}

TEST(egress_network, writes_anchored_filters_for_hosts_and_domains) {
  auto lines = filter_lines({"api.example.com", ".github.com"});
  EXPECT_EQ(lines, "^api\\.example\\.com$\n(^|\\.)github\\.com$\n");
  std::regex host("^api\\.example\\.com$", std::regex::extended);
  EXPECT_TRUE(std::regex_search("api.example.com", host));
  EXPECT_FALSE(std::regex_search("api.example.com.evil.net", host));
  EXPECT_FALSE(std::regex_search("xapi.example.com", host));
  std::regex domain("(^|\\.)github\\.com$", std::regex::extended);
  EXPECT_TRUE(std::regex_search("github.com", domain));
  EXPECT_TRUE(std::regex_search("api.github.com", domain));
  EXPECT_FALSE(std::regex_search("evilgithub.com", domain));
}
