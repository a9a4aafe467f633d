#include <gtest/gtest.h>

#include "events/notifications/address_policy.hpp"

namespace aetherium::notifications {
namespace {

ip_address v6(std::initializer_list<std::uint16_t> groups) {
  ip_address a;
  a.v6 = true;
  int i = 0;
  for (auto g : groups) {
    a.bytes[i++] = static_cast<std::uint8_t>(g >> 8);
    a.bytes[i++] = static_cast<std::uint8_t>(g & 0xff);
  }
  return a;
}

TEST(address_policy, ipv4_ranges_are_classified) {
  EXPECT_EQ(classify(ip_address::v4_of(127, 0, 0, 1)), address_class::loopback);
  EXPECT_EQ(classify(ip_address::v4_of(127, 255, 1, 2)), address_class::loopback);
  EXPECT_EQ(classify(ip_address::v4_of(10, 1, 2, 3)), address_class::private_range);
  EXPECT_EQ(classify(ip_address::v4_of(172, 16, 0, 1)), address_class::private_range);
  EXPECT_EQ(classify(ip_address::v4_of(172, 31, 255, 255)), address_class::private_range);
  EXPECT_EQ(classify(ip_address::v4_of(172, 32, 0, 1)), address_class::global);
  EXPECT_EQ(classify(ip_address::v4_of(192, 168, 1, 1)), address_class::private_range);
  EXPECT_EQ(classify(ip_address::v4_of(169, 254, 169, 254)), address_class::link_local);
  EXPECT_EQ(classify(ip_address::v4_of(100, 64, 0, 1)), address_class::shared);
  EXPECT_EQ(classify(ip_address::v4_of(100, 127, 255, 255)), address_class::shared);
  EXPECT_EQ(classify(ip_address::v4_of(100, 128, 0, 1)), address_class::global);
  EXPECT_EQ(classify(ip_address::v4_of(0, 0, 0, 0)), address_class::unspecified);
  EXPECT_EQ(classify(ip_address::v4_of(224, 0, 0, 1)), address_class::multicast);
  EXPECT_EQ(classify(ip_address::v4_of(255, 255, 255, 255)), address_class::reserved);
  EXPECT_EQ(classify(ip_address::v4_of(93, 184, 216, 34)), address_class::global);
}

TEST(address_policy, ipv6_ranges_are_classified) {
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0, 0, 1})), address_class::loopback);
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0, 0, 0})), address_class::unspecified);
  EXPECT_EQ(classify(v6({0xfe80, 0, 0, 0, 0, 0, 0, 1})), address_class::link_local);
  EXPECT_EQ(classify(v6({0xfc00, 0, 0, 0, 0, 0, 0, 1})), address_class::private_range);
  EXPECT_EQ(classify(v6({0xfd12, 0x3456, 0, 0, 0, 0, 0, 1})), address_class::private_range);
  EXPECT_EQ(classify(v6({0xff02, 0, 0, 0, 0, 0, 0, 1})), address_class::multicast);
  EXPECT_EQ(classify(v6({0x2606, 0x2800, 0x220, 1, 0x248, 0x1893, 0x25c8, 0x1946})), address_class::global);
}

TEST(address_policy, ipv4_mapped_and_nat64_addresses_are_judged_by_their_ipv4_address) {
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001})), address_class::loopback);
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0xffff, 0xa9fe, 0xa9fe})), address_class::link_local);
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001})), address_class::private_range);
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0xffff, 0x5db8, 0xd822})), address_class::global);
  EXPECT_EQ(classify(v6({0x64, 0xff9b, 0, 0, 0, 0, 0x7f00, 0x0001})), address_class::loopback);
  EXPECT_EQ(classify(v6({0, 0, 0, 0, 0, 0, 0x7f00, 0x0001})), address_class::reserved);
}

TEST(address_policy, only_global_addresses_are_allowed_unless_the_operator_allows_private_ones) {
  auto loop = ip_address::v4_of(127, 0, 0, 1);
  EXPECT_FALSE(address_allowed(loop, false));
  EXPECT_TRUE(address_allowed(loop, true));
  EXPECT_TRUE(address_allowed(ip_address::v4_of(10, 0, 0, 1), true));
  EXPECT_TRUE(address_allowed(ip_address::v4_of(8, 8, 8, 8), false));
  EXPECT_FALSE(address_allowed(ip_address::v4_of(0, 0, 0, 0), true));
  EXPECT_FALSE(address_allowed(ip_address::v4_of(224, 0, 0, 1), true));
}

TEST(address_policy, addresses_print_for_messages) {
  EXPECT_EQ(to_string(ip_address::v4_of(127, 0, 0, 1)), "127.0.0.1");
  EXPECT_EQ(to_string(v6({0, 0, 0, 0, 0, 0xffff, 0x7f00, 1})), "0:0:0:0:0:ffff:7f00:1");
}

} // namespace
} // namespace aetherium::notifications
