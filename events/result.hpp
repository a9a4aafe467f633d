#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace aetherium {

/// What a caller must do about a failure. Each value maps to one reaction.
enum class errc {
  invalid_argument,   ///< The input is wrong: fix it (HTTP 400). Never retry as is.
  not_found,          ///< The thing does not exist or is not visible (HTTP 404).
  conflict,           ///< Someone else wrote first: re-read and retry (HTTP 409).
  invalid_transition, ///< The state does not allow this command (HTTP 422).
  quota_exceeded,     ///< A tenant quota or rate limit is hit: back off (HTTP 429).
  unauthorized,       ///< No or bad credentials (HTTP 401).
  forbidden,          ///< Credentials lack the role (HTTP 403).
  unavailable,        ///< A dependency is down or timed out: back off and retry (HTTP 503).
  corrupt,            ///< Stored data fails a check: stop and alert.
  internal,           ///< A bug: report it.
};

/// Stable lowercase name of an error code, used on the wire and in logs.
const char* to_string(errc code) noexcept;

/// A failure as a value: a code that says what to do and a human-readable detail.
struct error {
  errc code = errc::internal;
  std::string detail;
  std::string field; ///< The offending input field, if any.
  /// With quota_exceeded for a tenant quota: that quota's limit (`field` names the quota).
  std::optional<std::uint64_t> limit;
};

/// Makes an error; `field` names the offending input when there is one.
inline error make_error(errc code, std::string detail, std::string field = {}) {
  return error{code, std::move(detail), std::move(field)};
}

/// Either a value of type T or an error.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : data_(std::move(value)) {}
  result(error err) : data_(std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const& { return std::get<1>(data_); }

private:
  std::variant<T, error> data_;
};

/// The result of an operation that returns nothing on success.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error err) : err_(std::move(err)) {}

  bool ok() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& { return *err_; }

private:
  std::optional<error> err_;
};

} // namespace aetherium
