// HS256 JSON Web Tokens through libjwt 1.10, which verifies signatures but checks no
// claim: expiry, not-before, issuer and the algorithm are checked here.
#include <cstdlib>
#include <memory>

#include <jwt.h>
#include <nlohmann/json.hpp>

#include "adapters/http/auth/authenticator.hpp"

namespace aetherium::http {

namespace {

using json = nlohmann::json;

struct jwt_deleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

struct c_string_deleter {
  void operator()(char* s) const noexcept { std::free(s); }
};
using c_string = std::unique_ptr<char, c_string_deleter>;

error refuse(std::string why) { return make_error(errc::unauthorized, "invalid token: " + std::move(why)); }

/// Decodes unpadded base64url. False on a character outside the alphabet.
bool base64url_decode(std::string_view in, std::string& out) {
  int bits = 0;
  unsigned value = 0;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '-') d = 62;
    else if (c == '_') d = 63;
    else return false;
    value = (value << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xFF);
    }
  }
  return true;
}

/// The header must name exactly HS256: "none" and every other algorithm are refused here,
/// before libjwt looks at the token.
result<void> check_header(std::string_view token) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) == std::string_view::npos)
    return refuse("not three dot-separated parts");
  std::string text;
  if (!base64url_decode(token.substr(0, dot), text))
    return refuse("the header is not base64url");
  auto header = json::parse(text, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return refuse("the header is not a JSON object");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "HS256")
    return refuse("the algorithm must be HS256");
  return {};
}

result<std::int64_t> int_claim(const json& claims, const char* name, bool required) {
  auto it = claims.find(name);
  if (it == claims.end()) {
    if (required)
      return refuse(std::string{"no "} + name + " claim");
    return std::int64_t{0};
  }
  if (!it->is_number_integer())
    return refuse(std::string{name} + " is not an integer");
  return it->get<std::int64_t>();
}

std::string string_claim(const json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

result<jwt_claims> read_claims(const json& c) {
  jwt_claims out;
  out.issuer = string_claim(c, "iss");
  out.subject = string_claim(c, "sub");
  out.tenant = tenant_id{string_claim(c, "tenant")};
  if (!api::parse_role(string_claim(c, "role"), out.role))
    return refuse("no known role claim");
  auto exp = int_claim(c, "exp", true);
  auto nbf = int_claim(c, "nbf", false);
  auto iat = int_claim(c, "iat", false);
  for (auto* r : {&exp, &nbf, &iat})
    if (!*r)
      return r->err();
  out.expires_at = *exp;
  out.not_before = *nbf;
  out.issued_at = *iat;
  return out;
}

} // namespace

result<std::string> sign_jwt_hs256(std::string_view secret, const jwt_claims& claims) {
  if (secret.empty())
    return make_error(errc::invalid_argument, "the JWT secret is empty");
  json grants{{"iss", claims.issuer}, {"sub", claims.subject}, {"tenant", claims.tenant.str()},
              {"role", api::to_string(claims.role)}, {"exp", claims.expires_at}};
  if (claims.issued_at != 0)
    grants["iat"] = claims.issued_at;
  if (claims.not_before != 0)
    grants["nbf"] = claims.not_before;
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0)
    return make_error(errc::internal, "jwt_new failed");
  jwt_ptr token{raw};
  if (jwt_add_grants_json(token.get(), grants.dump().c_str()) != 0
      || jwt_set_alg(token.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                     static_cast<int>(secret.size())) != 0)
    return make_error(errc::internal, "could not build the JWT");
  c_string text{jwt_encode_str(token.get())};
  if (!text)
    return make_error(errc::internal, "jwt_encode_str failed");
  return std::string{text.get()};
}

result<jwt_claims> verify_jwt_hs256(std::string_view token, std::string_view secret, std::string_view issuer,
                                    std::int64_t now, std::int64_t skew) {
  if (secret.empty())
    return refuse("JWTs are not accepted by this server");
  if (auto ok = check_header(token); !ok)
    return ok.err();
  std::string text{token};
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 0 || raw == nullptr)
    return refuse("the signature does not match");
  jwt_ptr decoded{raw};
  if (jwt_get_alg(decoded.get()) != JWT_ALG_HS256)
    return refuse("the algorithm must be HS256");
  c_string grants{jwt_get_grants_json(decoded.get(), nullptr)};
  auto claims_json = grants ? json::parse(grants.get(), nullptr, false) : json{};
  if (!claims_json.is_object())
    return refuse("the claims are not a JSON object");
  auto claims = read_claims(claims_json);
  if (!claims)
    return claims.err();
  if (claims->issuer != issuer)
    return refuse("unexpected issuer");
  if (claims->expires_at + skew <= now)
    return refuse("expired");
  if (claims->not_before != 0 && claims->not_before - skew > now)
    return refuse("not valid yet");
  if (claims->subject.empty() || claims->tenant.empty())
    return refuse("sub and tenant are required");
  return claims;
}

} // namespace aetherium::http
