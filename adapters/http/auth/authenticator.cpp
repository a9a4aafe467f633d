#include "adapters/http/auth/authenticator.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "events/api/validation.hpp"
#include "events/base64url.hpp"

namespace aetherium::http {

namespace {

constexpr std::string_view key_prefix = "ak_";
constexpr std::size_t max_key_name_chars = 100;

error refuse(std::string why) { return make_error(errc::unauthorized, std::move(why)); }

class authenticator_impl : public authenticator {
public:
  authenticator_impl(auth_options options, std::shared_ptr<api::api_key_store> keys, std::shared_ptr<clock> clock,
                     std::shared_ptr<id_generator> ids)
    : options_(std::move(options)), keys_(std::move(keys)), clock_(std::move(clock)), ids_(std::move(ids)) {}

  result<authentication> authenticate(std::string_view header) override {
    constexpr std::string_view scheme = "Bearer ";
    if (header.empty())
      return refuse("credentials are required: Authorization: Bearer <API key or JWT>");
    if (header.size() <= scheme.size() || header.substr(0, scheme.size()) != scheme)
      return refuse("the Authorization scheme must be Bearer");
    auto token = header.substr(scheme.size());
    if (token.substr(0, key_prefix.size()) == key_prefix)
      return by_api_key(token);
    return by_jwt(token);
  }

  result<issued_api_key> create_key(const tenant_id& tenant, api::role role, std::string name) override {
    return issue_api_key(*keys_, *clock_, *ids_, tenant, role, std::move(name));
  }

  std::vector<api::api_key_record> list_keys(const tenant_id& tenant) override { return keys_->list(tenant); }

  result<void> revoke_key(const tenant_id& tenant, const apikey_id& id) override { return keys_->revoke(tenant, id); }

private:
  result<authentication> by_api_key(std::string_view key) {
    auto found = keys_->find_by_hash(hash_api_key(key));
    if (!found)
      return refuse("unknown API key");
    if (found->revoked)
      return refuse("the API key was revoked");
    return authentication{api::caller{found->tenant, "key:" + found->id.str(), found->role}, "key:" + found->id.str()};
  }

  result<authentication> by_jwt(std::string_view token) {
    auto claims = verify_jwt_hs256(token, options_.jwt_secret, options_.jwt_issuer, clock_->now_us() / 1'000'000,
                                   options_.clock_skew_seconds);
    if (!claims)
      return claims.err();
    if (!api::valid_id(claims->tenant.str()))
      return refuse("invalid token: the tenant claim must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    auto principal = "jwt:" + claims->subject;
    return authentication{api::caller{claims->tenant, principal, claims->role},
                          "jwt:" + claims->tenant.str() + "/" + claims->subject};
  }

  auth_options options_;
  std::shared_ptr<api::api_key_store> keys_;
  std::shared_ptr<clock> clock_;
  std::shared_ptr<id_generator> ids_;
};

} // namespace

std::string hash_api_key(std::string_view key) {
  // Runs on every authenticated request: fetch the algorithm once and keep one context
  // per thread, instead of EVP_Digest's implicit fetch and allocation per call.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), key.data(), key.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), digest, &n) != 1)
    EVP_Digest(key.data(), key.size(), digest, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

result<issued_api_key> issue_api_key(api::api_key_store& store, clock& clock, id_generator& ids,
                                     const tenant_id& tenant, api::role role, std::string name) {
  if (!api::valid_id(tenant.str()))
    return make_error(errc::invalid_argument, "the tenant must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}", "tenant");
  if (api::utf8_chars(name) > max_key_name_chars)
    return make_error(errc::invalid_argument, "the name is longer than 100 characters", "name");
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1)
    return make_error(errc::unavailable, "no randomness for a new API key");
  issued_api_key out;
  out.key = std::string{key_prefix} + base64url(secret, sizeof secret);
  out.record = api::api_key_record{apikey_id{ids.next_uuid()}, tenant, role, std::move(name),
                                   hash_api_key(out.key), clock.now_us(), false};
  if (auto stored = store.add(out.record); !stored)
    return stored.err();
  return out;
}

std::shared_ptr<authenticator> make_authenticator(auth_options options, std::shared_ptr<api::api_key_store> keys,
                                                  std::shared_ptr<clock> clock, std::shared_ptr<id_generator> ids) {
  return std::make_shared<authenticator_impl>(std::move(options), std::move(keys), std::move(clock), std::move(ids));
}

} // namespace aetherium::http
