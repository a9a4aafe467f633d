// Join tokens: given events, when a command, then events or an error; the text form and
// the checks a joining node's token goes through.
#include <gtest/gtest.h>

#include "events/scheduling/node_token.hpp"
#include "events/sha256.hpp"

using namespace aetherium;
using namespace aetherium::scheduling;

namespace {

const node_token_id id{"0123456789abcdef"};
const std::string secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I"; // 43 base64url characters

issue_node_token issue(std::int64_t expires_at_us = 0, std::int64_t now_us = 10) {
  return issue_node_token{id, sha256_hex(secret), "rack 3", expires_at_us, now_us};
}

node_token_state given(const std::vector<node_token_command>& commands) {
  node_token_state s;
  for (auto& c : commands) {
    auto events = node_token::decide(s, c);
    EXPECT_TRUE(events.ok()) << (events.ok() ? "" : events.err().detail);
    if (!events.ok())
      break;
    for (auto& e : *events)
      s = node_token::evolve(s, e);
  }
  return s;
}

/// The wire name of the first event, "none", or "error:<code>" (with ":<field>" if any).
std::string then_type(const node_token_state& s, const node_token_command& c) {
  auto events = node_token::decide(s, c);
  if (!events.ok())
    return std::string{"error:"} + to_string(events.err().code) + (events.err().field.empty() ? "" : ":" + events.err().field);
  if (events->empty())
    return "none";
  return type_name(events->front());
}

errc verify_error(const node_token_state& s, std::string_view text_secret, std::int64_t now_us) {
  auto r = verify_node_token(s, text_secret, now_us);
  return r.ok() ? errc::internal : r.err().code;
}

TEST(node_token, issuing_records_the_hash_note_and_expiry) {
  EXPECT_EQ(node_token::stream_of(id.str()).str(), "nodetoken-0123456789abcdef");
  EXPECT_EQ(then_type({}, issue()), "node_token.issued");
  auto s = given({issue(500)});
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.id, id);
  EXPECT_EQ(s.secret_sha256, sha256_hex(secret));
  EXPECT_EQ(s.note, "rack 3");
  EXPECT_EQ(s.expires_at_us, 500);
  EXPECT_EQ(s.issued_at_us, 10);
  EXPECT_FALSE(s.revoked);
  EXPECT_EQ(node_token_schema_version("node_token.issued"), 1);
  EXPECT_EQ(node_token_schema_version("node_token.revoked"), 1);
  EXPECT_EQ(node_token_schema_version("node.registered"), 0);
}

TEST(node_token, an_invalid_issue_names_the_field_and_a_taken_id_conflicts) {
  auto with = [](auto change) {
    auto c = issue();
    change(c);
    return then_type({}, c);
  };
  EXPECT_EQ(with([](issue_node_token& c) { c.id = node_token_id{"0123456789ABCDEF"}; }), "error:invalid_argument:id");
  EXPECT_EQ(with([](issue_node_token& c) { c.id = node_token_id{"0123"}; }), "error:invalid_argument:id");
  EXPECT_EQ(with([](issue_node_token& c) { c.secret_sha256 = secret; }), "error:invalid_argument:secret_sha256");
  EXPECT_EQ(with([](issue_node_token& c) { c.note = std::string(257, 'n'); }), "error:invalid_argument:note");
  EXPECT_EQ(with([](issue_node_token& c) { c.expires_at_us = -1; }), "error:invalid_argument:expires_at_us");
  EXPECT_EQ(with([](issue_node_token& c) { c.expires_at_us = c.now_us; }), "error:invalid_argument:expires_at_us");
  EXPECT_EQ(then_type(given({issue()}), issue()), "error:conflict");
}

TEST(node_token, revoking_needs_a_token_and_twice_is_a_no_op) {
  EXPECT_EQ(then_type({}, revoke_node_token{1}), "error:not_found");
  auto s = given({issue()});
  EXPECT_EQ(then_type(s, revoke_node_token{20}), "node_token.revoked");
  auto revoked = given({issue(), revoke_node_token{20}});
  EXPECT_TRUE(revoked.revoked);
  EXPECT_EQ(revoked.revoked_at_us, 20);
  EXPECT_EQ(then_type(revoked, revoke_node_token{30}), "none");
}

TEST(node_token, the_text_form_round_trips) {
  std::array<unsigned char, 40> random{};
  for (std::size_t i = 0; i < random.size(); ++i)
    random[i] = static_cast<unsigned char>(i * 37 + 1);
  auto made = make_node_token(random);
  EXPECT_EQ(made.id.str(), "01264b7095badf04");
  EXPECT_EQ(made.secret.size(), 43u);
  auto text = node_token_text(made);
  EXPECT_EQ(text.rfind("aetj_01264b7095badf04_", 0), 0u) << text;
  auto parsed = parse_node_token(text);
  ASSERT_TRUE(parsed.ok()) << parsed.err().detail;
  EXPECT_EQ(parsed->id, made.id);
  EXPECT_EQ(parsed->secret, made.secret);
  random.fill(0xff);
  auto other = make_node_token(random);
  EXPECT_EQ(other.id.str(), "ffffffffffffffff");
  EXPECT_EQ(other.secret, std::string(42, '_') + "8") << "the last 2 bits are padded with zeros";
  EXPECT_TRUE(parse_node_token(node_token_text(other)).ok()) << "a secret may hold _";
}

TEST(node_token, malformed_texts_are_refused_without_repeating_them) {
  auto field_of = [](std::string_view text) {
    auto r = parse_node_token(text);
    return r.ok() ? std::string{"ok"} : to_string(r.err().code) + std::string{":"} + r.err().field;
  };
  auto good = "aetj_" + id.str() + "_" + secret;
  EXPECT_EQ(field_of(good), "ok");
  EXPECT_EQ(field_of(""), "invalid_argument:token");
  EXPECT_EQ(field_of("aetk_" + id.str() + "_" + secret), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_0123456789ABCDEF_" + secret), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_0123456789abcde_" + secret), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_" + id.str() + "-" + secret), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_" + id.str()), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_" + id.str() + "_" + secret.substr(1)), "invalid_argument:token") << "42 characters";
  EXPECT_EQ(field_of("aetj_" + id.str() + "_" + std::string(129, 'a')), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_" + id.str() + "_" + secret + "="), "invalid_argument:token");
  EXPECT_EQ(field_of("aetj_" + id.str() + "_" + secret + " "), "invalid_argument:token");
  auto r = parse_node_token("aetj_" + id.str() + "_" + secret + "!");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().detail.find(secret), std::string::npos);
}

TEST(node_token, only_the_right_secret_of_a_live_token_verifies) {
  auto s = given({issue()});
  EXPECT_TRUE(verify_node_token(s, secret, 20).ok());
  EXPECT_EQ(verify_error(s, secret.substr(0, 42) + "x", 20), errc::unauthorized);
  EXPECT_EQ(verify_error(s, "", 20), errc::unauthorized);
  EXPECT_EQ(verify_error(s, sha256_hex(secret), 20), errc::unauthorized) << "the stored hash is no secret";
  EXPECT_EQ(verify_error({}, secret, 20), errc::unauthorized) << "no such token";
}

TEST(node_token, a_revoked_or_expired_token_does_not_verify) {
  auto revoked = given({issue(), revoke_node_token{20}});
  EXPECT_EQ(verify_error(revoked, secret, 21), errc::unauthorized);
  auto expiring = given({issue(100)});
  EXPECT_TRUE(verify_node_token(expiring, secret, 99).ok());
  EXPECT_EQ(verify_error(expiring, secret, 100), errc::unauthorized);
  auto r = verify_node_token(expiring, secret, 200);
  EXPECT_NE(r.err().detail.find("expired"), std::string::npos) << r.err().detail;
}

TEST(node_token, constant_time_equal_is_plain_equality) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "xbc"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abc", ""));
}

} // namespace
