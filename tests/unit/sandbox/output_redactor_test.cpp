#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/sandbox/output_redactor.hpp"

using aetherium::output_stream;
using aetherium::sandbox::output_redactor;

namespace {

struct collected {
  std::string out;
  std::string err;
  aetherium::output_callback sink() {
    return [this](output_stream which, std::string_view chunk) {
      (which == output_stream::out ? out : err).append(chunk);
    };
  }
};

} // namespace

TEST(output_redactor, replaces_a_secret_inside_one_chunk) {
  collected got;
  output_redactor r({"hunter2"}, got.sink());
  r.write(output_stream::out, "password=hunter2;\n");
  r.flush();
  EXPECT_EQ(got.out, "password=[REDACTED];\n");
}

TEST(output_redactor, replaces_a_secret_split_across_chunks) {
  collected got;
  output_redactor r({"s3cr3t-value"}, got.sink());
  for (std::string piece : {"abc s3", "cr3t", "-va", "lue xyz"}) r.write(output_stream::out, piece);
  r.flush();
  EXPECT_EQ(got.out, "abc [REDACTED] xyz");
}

TEST(output_redactor, replaces_a_secret_fed_one_byte_at_a_time) {
  collected got;
  output_redactor r({"tok_ABCDEF"}, got.sink());
  std::string text = "a tok_ABCDEF b tok_ABCDE c tok_ABCDEF";
  for (char c : text) r.write(output_stream::err, std::string(1, c));
  r.flush();
  EXPECT_EQ(got.err, "a [REDACTED] b tok_ABCDE c [REDACTED]");
}

TEST(output_redactor, keeps_streams_apart) {
  collected got;
  output_redactor r({"key123"}, got.sink());
  r.write(output_stream::out, "key");
  r.write(output_stream::err, "123");
  r.flush();
  EXPECT_EQ(got.out, "key");
  EXPECT_EQ(got.err, "123");
}

TEST(output_redactor, hides_the_longer_of_two_overlapping_secrets) {
  collected got;
  output_redactor r({"abc", "abcdef"}, got.sink());
  r.write(output_stream::out, "xabcdefx abcx");
  r.flush();
  EXPECT_EQ(got.out, "x[REDACTED]x [REDACTED]x");
}

TEST(output_redactor, forwards_chunks_unchanged_without_secrets) {
  collected got;
  output_redactor r({"", ""}, got.sink());
  r.write(output_stream::out, "plain");
  EXPECT_EQ(got.out, "plain");
}

TEST(output_redactor, holds_back_only_a_possible_secret_prefix) {
  collected got;
  output_redactor r({"abcd"}, got.sink());
  r.write(output_stream::out, "0123456789ab");
  EXPECT_EQ(got.out, "0123456789");
  r.write(output_stream::out, "x");
  EXPECT_EQ(got.out, "0123456789abx");
}
