#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "adapters/model_gateway/usage_reader.hpp"

namespace aetherium::model_gateway::testing {

/// Reads `body` fed as the given chunk sizes, cycling through them.
inline std::optional<models::usage> read_in_chunks(models::provider p, bool stream, std::string_view body,
                                                   std::size_t chunk) {
  usage_reader reader(p, stream);
  for (std::size_t i = 0; i < body.size(); i += chunk) reader.feed(body.substr(i, chunk));
  return reader.finish();
}

/// Reads `body` cut at random points (seeded, so a failure repeats), with empty feeds mixed in.
inline std::optional<models::usage> read_randomly(models::provider p, bool stream, std::string_view body,
                                                  unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> len(0, 97);
  usage_reader reader(p, stream);
  std::size_t i = 0;
  while (i < body.size()) {
    auto n = len(rng);
    reader.feed(body.substr(i, n));
    i += n;
  }
  return reader.finish();
}

/// `text` with every "\n" turned into `eol`.
inline std::string with_line_ends(std::string_view text, std::string_view eol) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out.append(eol);
    else out.push_back(c);
  }
  return out;
}

inline void expect_usage(const std::optional<models::usage>& got, const models::usage& want) {
  ASSERT_TRUE(got.has_value()) << "no usage read";
  EXPECT_EQ(got->model, want.model);
  EXPECT_EQ(got->input_tokens, want.input_tokens);
  EXPECT_EQ(got->output_tokens, want.output_tokens);
}

/// Expects `want` from `body` (written with "\n" line ends) fed whole, byte by byte and at
/// random split points, with "\n", "\r\n" and (for streams) "\r" line ends.
inline void expect_read_every_way(models::provider p, bool stream, std::string_view body,
                                  const std::optional<models::usage>& want) {
  std::string eols[] = {"\n", "\r\n", "\r"};
  for (const auto& eol : eols) {
    if (!stream && eol == "\r") continue; // not JSON whitespace
    auto text = with_line_ends(body, eol);
    SCOPED_TRACE(eol == "\n" ? "LF line ends" : eol == "\r\n" ? "CRLF line ends" : "CR line ends");
    auto check = [&](const std::optional<models::usage>& got, const std::string& how) {
      SCOPED_TRACE(how);
      if (want) expect_usage(got, *want);
      else EXPECT_FALSE(got.has_value()) << "read " << got->input_tokens << "/" << got->output_tokens;
    };
    check(read_in_chunks(p, stream, text, text.size() + 1), "whole");
    check(read_in_chunks(p, stream, text, 1), "byte by byte");
    check(read_in_chunks(p, stream, text, 2), "two bytes at a time");
    for (unsigned seed = 1; seed <= 20; ++seed) {
      check(read_randomly(p, stream, text, seed), "random splits, seed " + std::to_string(seed));
    }
  }
}

} // namespace aetherium::model_gateway::testing
