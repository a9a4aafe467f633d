#include <gtest/gtest.h>

#include "events/line_ends.hpp"

using aetherium::normalize_line_ends;

TEST(line_ends, crlf_and_lone_cr_become_lf) {
  EXPECT_EQ(normalize_line_ends("a\r\nb\r\n"), "a\nb\n");
  EXPECT_EQ(normalize_line_ends("a\rb\r"), "a\nb\n");
  EXPECT_EQ(normalize_line_ends("a\r\r\nb"), "a\n\nb");
  EXPECT_EQ(normalize_line_ends("\r\n\r\n"), "\n\n");
}

TEST(line_ends, text_without_carriage_returns_is_unchanged) {
  EXPECT_EQ(normalize_line_ends(""), "");
  EXPECT_EQ(normalize_line_ends("echo hi > greeting.txt\n"), "echo hi > greeting.txt\n");
  EXPECT_EQ(normalize_line_ends("caf\xc3\xa9\n\n"), "caf\xc3\xa9\n\n");
}
