// The bounded window of webhook delivery ids.
#include <gtest/gtest.h>

#include "events/github/recent_deliveries.hpp"

using aetherium::github::recent_deliveries;

TEST(recent_deliveries, a_repeated_id_is_a_duplicate) {
  recent_deliveries seen{10};
  EXPECT_TRUE(seen.claim("a"));
  EXPECT_FALSE(seen.claim("a"));
  EXPECT_TRUE(seen.claim("b"));
}

TEST(recent_deliveries, forgets_the_oldest_id_beyond_its_capacity) {
  recent_deliveries seen{2};
  seen.claim("a");
  seen.claim("b");
  seen.claim("c");
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen.claim("c"));
  EXPECT_FALSE(seen.claim("b"));
  EXPECT_TRUE(seen.claim("a")) << "a fell out of the window";
}

TEST(recent_deliveries, a_released_id_can_be_claimed_again) {
  recent_deliveries seen{4};
  ASSERT_TRUE(seen.claim("a"));
  seen.release("a");
  EXPECT_EQ(seen.size(), 0u);
  EXPECT_TRUE(seen.claim("a"));
}

TEST(recent_deliveries, an_empty_id_is_never_a_duplicate) {
  recent_deliveries seen{4};
  EXPECT_TRUE(seen.claim(""));
  EXPECT_TRUE(seen.claim(""));
  EXPECT_EQ(seen.size(), 0u);
}
