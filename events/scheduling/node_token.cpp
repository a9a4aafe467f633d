#include "events/scheduling/node_token.hpp"
#include "events/base64url.hpp"

#include "events/overloaded.hpp"
#include "events/sha256.hpp"

namespace aetherium::scheduling {

namespace {

using events = std::vector<node_token_event>;

bool base64url_char(char ch) noexcept {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

result<events> decide_issue(const node_token_state& s, const issue_node_token& c) {
  auto bad = [](const char* field, std::string why) { return make_error(errc::invalid_argument, std::move(why), field); };
  if (!valid_node_token_id(c.id.str()))
    return bad("id", "a token id is 16 lowercase hex digits");
  if (!is_sha256_hex(c.secret_sha256))
    return bad("secret_sha256", "the secret's hash must be 64 lowercase hex digits");
  if (c.note.size() > node_token_max_note_bytes)
    return bad("note", "the note is longer than 256 bytes");
  if (c.expires_at_us < 0 || (c.expires_at_us != 0 && c.expires_at_us <= c.now_us))
    return bad("expires_at_us", "a token expires after it is issued, or never (0)");
  if (s.exists)
    return make_error(errc::conflict, "node token " + c.id.str() + " exists");
  return events{node_token_issued{c.id, c.secret_sha256, c.note, c.expires_at_us, c.now_us}};
}

} // namespace

const char* type_name(const node_token_event& e) noexcept {
  return std::visit([](const auto& x) -> const char* { return std::decay_t<decltype(x)>::type_name; }, e);
}

int node_token_schema_version(const std::string& type) noexcept {
  if (type == node_token_issued::type_name)
    return node_token_issued::schema_version;
  if (type == node_token_revoked::type_name)
    return node_token_revoked::schema_version;
  return 0;
}

result<std::vector<node_token_event>> node_token::decide(const state& s, const command& c) {
  if (auto* issue = std::get_if<issue_node_token>(&c))
    return decide_issue(s, *issue);
  if (!s.exists)
    return make_error(errc::not_found, "no such node token");
  if (s.revoked)
    return events{};
  return events{node_token_revoked{std::get<revoke_node_token>(c).now_us}};
}

node_token_state node_token::evolve(state s, const event& e) {
  std::visit(overloaded{
               [&](const node_token_issued& x) {
                 s.exists = true;
                 s.id = x.token_id;
                 s.secret_sha256 = x.secret_sha256;
                 s.note = x.note;
                 s.expires_at_us = x.expires_at_us;
                 s.issued_at_us = x.at_us;
               },
               [&](const node_token_revoked& x) {
                 s.revoked = true;
                 s.revoked_at_us = x.at_us;
               },
             },
             e);
  return s;
}

bool valid_node_token_id(std::string_view id) noexcept {
  if (id.size() != node_token_id_chars)
    return false;
  for (char ch : id)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
      return false;
  return true;
}

result<node_token_parts> parse_node_token(std::string_view text) {
  auto bad = [](const char* why) { return make_error(errc::invalid_argument, why, "token"); };
  if (text.substr(0, node_token_prefix.size()) != node_token_prefix)
    return bad("a node token starts with aetj_");
  text.remove_prefix(node_token_prefix.size());
  if (text.size() <= node_token_id_chars || text[node_token_id_chars] != '_'
      || !valid_node_token_id(text.substr(0, node_token_id_chars)))
    return bad("a node token's id is 16 lowercase hex digits followed by _");
  auto secret = text.substr(node_token_id_chars + 1);
  if (secret.size() < node_token_min_secret_chars || secret.size() > node_token_max_secret_chars)
    return bad("a node token's secret holds 43 to 128 characters");
  for (char ch : secret)
    if (!base64url_char(ch))
      return bad("a node token's secret is base64url");
  return node_token_parts{node_token_id{std::string{text.substr(0, node_token_id_chars)}}, std::string{secret}};
}

node_token_parts make_node_token(const std::array<unsigned char, 40>& random) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < node_token_id_chars / 2; ++i) {
    id += hex[random[i] >> 4];
    id += hex[random[i] & 0xF];
  }
  auto secret = random.data() + node_token_id_chars / 2;
  return node_token_parts{node_token_id{std::move(id)}, base64url(secret, random.size() - node_token_id_chars / 2)};
}

std::string node_token_text(const node_token_parts& token) {
  return std::string{node_token_prefix} + token.id.str() + "_" + token.secret;
}

result<void> verify_node_token(const node_token_state& s, std::string_view secret, std::int64_t now_us) {
  auto refuse = [](std::string why) { return make_error(errc::unauthorized, std::move(why)); };
  if (!s.exists)
    return refuse("no such node token");
  // The hash is compared before the state is looked at, so a revoked or expired token
  // costs the same time as a live one.
  bool match = constant_time_equal(sha256_hex(secret), s.secret_sha256);
  if (!match)
    return refuse("node token " + s.id.str() + ": wrong secret");
  if (s.revoked)
    return refuse("node token " + s.id.str() + " is revoked");
  if (s.expires_at_us != 0 && now_us >= s.expires_at_us)
    return refuse("node token " + s.id.str() + " has expired");
  return {};
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace aetherium::scheduling
