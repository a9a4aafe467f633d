#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "adapters/sandbox/egress_policy.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"

using namespace aetherium;
using namespace aetherium::sandbox;

namespace {

ip_address ip(const char* text) {
  auto parsed = parse_ip(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(ip_address{});
}

std::vector<cidr> ranges(const std::vector<std::string>& texts) {
  auto parsed = parse_cidrs(texts);
  EXPECT_TRUE(parsed.ok());
  return parsed ? *parsed : std::vector<cidr>{};
}

void expect_classes(const std::vector<std::pair<const char*, address_class>>& cases) {
  for (const auto& [text, kind] : cases)
    EXPECT_STREQ(to_string(classify(ip(text))), to_string(kind)) << text;
}

} // namespace

TEST(egress_policy, classifies_every_non_public_ipv4_range_and_its_edges) {
  using c = address_class;
  expect_classes({
      {"127.0.0.1", c::loopback},         {"127.255.255.254", c::loopback},
      {"0.0.0.0", c::unspecified},        {"0.1.2.3", c::unspecified},
      {"10.0.0.1", c::private_network},   {"10.255.255.255", c::private_network},
      {"172.16.0.1", c::private_network}, {"172.31.255.255", c::private_network},
      {"192.168.0.1", c::private_network}, {"192.168.255.255", c::private_network},
      {"100.64.0.1", c::shared},          {"100.127.255.255", c::shared},
      {"169.254.0.1", c::link_local},     {"169.254.255.255", c::link_local},
      {"169.254.169.254", c::metadata},   {"169.254.170.2", c::metadata},
      {"100.100.100.200", c::metadata},   {"168.63.129.16", c::metadata},
      {"224.0.0.1", c::multicast},        {"239.255.255.255", c::multicast},
      {"240.0.0.1", c::reserved},         {"255.255.255.255", c::reserved},
      {"192.0.2.1", c::reserved},         {"198.18.0.1", c::reserved},
  });
}

TEST(egress_policy, classes_addresses_just_outside_those_ranges_as_public) {
  using c = address_class;
  expect_classes({{"8.8.8.8", c::public_address},        {"9.255.255.255", c::public_address},
                  {"11.0.0.0", c::public_address},       {"126.255.255.255", c::public_address},
                  {"128.0.0.0", c::public_address},      {"172.15.255.255", c::public_address},
                  {"172.32.0.0", c::public_address},     {"192.167.255.255", c::public_address},
                  {"192.169.0.0", c::public_address},    {"100.63.255.255", c::public_address},
                  {"100.128.0.0", c::public_address},    {"169.253.255.255", c::public_address},
                  {"169.255.0.0", c::public_address},    {"223.255.255.255", c::public_address},
                  {"168.63.129.17", c::public_address}});
}

TEST(egress_policy, classifies_ipv6_ranges) {
  using c = address_class;
  expect_classes({{"::1", c::loopback},           {"::", c::unspecified},
                  {"fe80::1", c::link_local},      {"febf:ffff::1", c::link_local},
                  {"fc00::1", c::private_network}, {"fdff:ffff::1", c::private_network},
                  {"fec0::1", c::private_network}, {"ff02::1", c::multicast},
                  {"fd00:ec2::254", c::metadata},  {"2001:db8::1", c::reserved},
                  {"::2", c::reserved},            {"100::1", c::reserved},
                  {"64:ff9b:1::1", c::reserved},   {"2606:4700::1111", c::public_address},
                  {"2a00:1450:4001::1", c::public_address}});
}

TEST(egress_policy, classes_ipv6_that_carries_an_ipv4_address_by_that_address) {
  using c = address_class;
  expect_classes({{"::ffff:127.0.0.1", c::loopback},      {"::ffff:10.0.0.1", c::private_network},
                  {"::ffff:169.254.169.254", c::metadata}, {"::ffff:169.254.1.1", c::link_local},
                  {"::ffff:0.0.0.0", c::unspecified},     {"::ffff:8.8.8.8", c::public_address},
                  {"64:ff9b::7f00:1", c::loopback},        {"64:ff9b::808:808", c::public_address},
                  {"2002:7f00:1::1", c::loopback},         {"2002:a9fe:a9fe::1", c::metadata},
                  {"2002:808:808::1", c::public_address}});
  auto mapped = unmapped(ip("::ffff:10.1.2.3"));
  EXPECT_FALSE(mapped.v6);
  EXPECT_EQ(to_string(mapped), "10.1.2.3");
  EXPECT_EQ(to_string(unmapped(ip("fd00::1"))), "fd00::1");
}

TEST(egress_policy, reads_only_standard_address_forms) {
  for (const char* bad : {"", "127.1", "2130706433", "0x7f.0.0.1", "[::1]", "fe80::1%eth0", "1.2.3.4.5", "localhost"})
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
}

TEST(egress_policy, parses_ranges_and_refuses_mistyped_ones) {
  auto net = parse_cidr(" 172.16.0.0/12 ");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->prefix, 12);
  EXPECT_EQ(to_string(net->base), "172.16.0.0");
  auto one = parse_cidr("169.254.200.2");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->prefix, 32);
  auto v6 = parse_cidr("fd12:3456::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->base.v6);
  EXPECT_EQ(parse_cidr("::1")->prefix, 128);
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/-1", "10.0.0.0/8x",
                          "10.0.0.1/8", "fd00::1/8", "10.0.0/8", "example.com/8", "10.0.0.0/8/8"}) {
    auto parsed = parse_cidr(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.err().code, errc::invalid_argument);
    }
  }
  auto list = parse_cidrs({"10.0.0.0/8", "10.0.0.1/8"});
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.err().detail.find("10.0.0.1/8"), std::string::npos) << list.err().detail;
}

TEST(egress_policy, ranges_hold_their_prefix_and_family_only) {
  auto net = *parse_cidr("172.16.0.0/12");
  EXPECT_TRUE(contains(net, ip("172.16.0.0")));
  EXPECT_TRUE(contains(net, ip("172.31.255.255")));
  EXPECT_FALSE(contains(net, ip("172.32.0.0")));
  EXPECT_FALSE(contains(net, ip("172.15.255.255")));
  EXPECT_FALSE(contains(net, ip("::ffff:172.16.0.1")));
  EXPECT_TRUE(contains(*parse_cidr("fd00::/8"), ip("fdff::1")));
  EXPECT_FALSE(contains(*parse_cidr("fd00::/8"), ip("fc00::1")));
  EXPECT_TRUE(contains(*parse_cidr("0.0.0.0/0"), ip("127.0.0.1")));
}

TEST(egress_policy, connects_to_public_addresses_and_to_operator_ranges_only) {
  EXPECT_TRUE(may_connect(ip("8.8.8.8"), {}));
  EXPECT_TRUE(may_connect(ip("2606:4700::1111"), {}));
  for (const char* refused : {"127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1"})
    EXPECT_FALSE(may_connect(ip(refused), {})) << refused;
  auto operator_ranges = ranges({"10.1.0.0/16", "fd00:1::/32"});
  EXPECT_TRUE(may_connect(ip("10.1.2.3"), operator_ranges));
  EXPECT_TRUE(may_connect(ip("::ffff:10.1.2.3"), operator_ranges));
  EXPECT_TRUE(may_connect(ip("fd00:1::5"), operator_ranges));
  EXPECT_FALSE(may_connect(ip("10.2.0.1"), operator_ranges));
  EXPECT_FALSE(may_connect(ip("127.0.0.1"), operator_ranges));
  EXPECT_FALSE(may_connect(ip("fd00:2::5"), operator_ranges));
}

TEST(egress_policy, opens_a_metadata_address_only_for_a_range_naming_it) {
  EXPECT_TRUE(may_connect(ip("169.254.1.1"), ranges({"169.254.0.0/16"})));
  EXPECT_FALSE(may_connect(ip("169.254.169.254"), ranges({"169.254.0.0/16"})));
  EXPECT_FALSE(may_connect(ip("169.254.169.254"), ranges({"0.0.0.0/0"})));
  EXPECT_TRUE(may_connect(ip("169.254.169.254"), ranges({"169.254.169.254/32"})));
  EXPECT_TRUE(may_connect(ip("::ffff:169.254.169.254"), ranges({"169.254.169.254"})));
}

TEST(egress_policy, accepts_host_and_domain_names_only) {
  for (const char* ok : {"api.anthropic.com", ".github.com", "localhost", "a-b.example"})
    EXPECT_TRUE(valid_allowed_host(ok)) << ok;
  for (const char* bad : {"", ".", "..a", "a..b", "a.", "*.example.com", "exa mple.com",
                          "example.com:443", "a/b", "x\ny"})
    EXPECT_FALSE(valid_allowed_host(bad)) << bad;
}

TEST(egress_policy, matches_a_host_exactly_and_a_domain_with_its_subdomains) {
  std::vector<std::string> allowed = {"api.example.com", ".GitHub.com"};
  for (const char* yes : {"api.example.com", "API.Example.COM", "github.com", "api.github.com", "a.b.GITHUB.com"})
    EXPECT_TRUE(host_matches(yes, allowed)) << yes;
  for (const char* no : {"example.com", "xapi.example.com", "api.example.com.evil.net", "evilgithub.com",
                         "github.com.evil.net", "", ".github.com", "api.github.com.", "evil/.github.com",
                         "evil_x.github.com", "evil%00.github.com"})
    EXPECT_FALSE(host_matches(no, allowed)) << no;
  EXPECT_FALSE(host_matches(std::string("evil\0.github.com", 16), allowed));
}

TEST(egress_policy, knows_every_form_a_resolver_reads_as_an_address) {
  for (const char* literal : {"127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "017700000001", "::1",
                              "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_ip_literal(literal)) << literal;
  for (const char* name : {"localhost", "allowed.test", "1.example", "example.1a"})
    EXPECT_FALSE(is_ip_literal(name)) << name;
}

TEST(egress_policy, the_adapter_refuses_a_mistyped_operator_range_at_start) {
  oci_sandbox_options options;
  options.state_dir = "/nonexistent/aetherium-egress-policy-test";
  options.egress_allow_private = {"10.0.0.0/8", "10.0.0.1/8"};
  auto runtime = make_oci_sandbox_runtime(options);
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.err().code, errc::invalid_argument);
  EXPECT_EQ(runtime.err().field, "egress_allow_private");
  EXPECT_NE(runtime.err().detail.find("10.0.0.1/8"), std::string::npos) << runtime.err().detail;
}
