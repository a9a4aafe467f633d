// The host <-> guest agent frames (adapters/sandbox/microvm/guest_protocol.hpp): what one
// side encodes the other decodes, and malformed or oversized input is refused, never read
// past its end.
#include <gtest/gtest.h>

#include "adapters/sandbox/microvm/guest_protocol.hpp"

namespace aetherium::sandbox::microvm::protocol {
namespace {

TEST(microvm_protocol, a_frame_round_trips_and_leaves_the_next_one_in_the_buffer) {
  std::string body = writer{}.u32(7).i32(-3).u64(1ull << 40).str(std::string_view("argv\0with nul", 13)).str("").take();
  std::string wire = encode(type::exec, 42, body) + encode(type::ok, 43, "");
  frame f;
  ASSERT_EQ(decode(wire, f), 1);
  EXPECT_EQ(f.kind, type::exec);
  EXPECT_EQ(f.id, 42u);
  reader r{f.body};
  std::uint32_t u = 0;
  std::int32_t i = 0;
  std::uint64_t big = 0;
  std::string s1, s2;
  ASSERT_TRUE(r.u32(u) && r.i32(i) && r.u64(big) && r.str(s1) && r.str(s2));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(u, 7u);
  EXPECT_EQ(i, -3);
  EXPECT_EQ(big, 1ull << 40);
  EXPECT_EQ(s1, std::string("argv\0with nul", 13));
  EXPECT_EQ(s2, "");
  ASSERT_EQ(decode(wire, f), 1);
  EXPECT_EQ(f.kind, type::ok);
  EXPECT_EQ(f.id, 43u);
  EXPECT_TRUE(wire.empty());
}

TEST(microvm_protocol, a_partial_frame_waits_for_more_bytes) {
  std::string wire = encode(type::data, 1, writer{}.str("0123456789").take());
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    std::string part = wire.substr(0, cut);
    frame f;
    EXPECT_EQ(decode(part, f), 0) << "cut at " << cut;
    EXPECT_EQ(part.size(), cut) << "nothing is consumed";
  }
}

TEST(microvm_protocol, lengths_below_the_header_or_above_the_limit_are_malformed) {
  frame f;
  std::string tiny("\x04\x00\x00\x00\x01\x00\x00\x00", 8);
  EXPECT_EQ(decode(tiny, f), -1);
  std::uint32_t huge = max_frame_bytes + 1;
  std::string big(reinterpret_cast<const char*>(&huge), 4);
  big += std::string(5, '\0');
  EXPECT_EQ(decode(big, f), -1);
}

TEST(microvm_protocol, a_reader_never_reads_past_the_body_and_stays_failed) {
  // A string length that claims more bytes than the body holds.
  std::string body = writer{}.u32(1000).take() + "abc";
  reader r{body};
  std::string s;
  EXPECT_FALSE(r.str(s));
  std::uint32_t after = 0;
  EXPECT_FALSE(r.u32(after)) << "a failed reader stays failed";
  EXPECT_FALSE(r.ok());
  reader short_int{std::string_view("\x01\x02", 2)};
  std::uint32_t v = 0;
  EXPECT_FALSE(short_int.u32(v));
  reader trailing{writer{}.u32(1).take() + "x"};
  EXPECT_TRUE(trailing.u32(v));
  EXPECT_FALSE(trailing.done()) << "trailing bytes are not a complete body";
}

} // namespace
} // namespace aetherium::sandbox::microvm::protocol
