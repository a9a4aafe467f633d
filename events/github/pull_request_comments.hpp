#pragma once

#include <cstdint>
#include <string>

#include "events/result.hpp"

namespace aetherium::github {

/// Writes comments on pull requests (replies to `/aetherium run`, task outcomes).
class pull_request_comments {
public:
  virtual ~pull_request_comments() = default;
  /// Adds `body` as a comment on pull request `number` of `repo` ("owner/name") and
  /// returns the comment's id. Errors: invalid_argument (bad repo or empty body),
  /// not_found (no such repository or pull request), forbidden, unavailable.
  virtual result<std::int64_t> add_comment(const std::string& repo, std::int64_t number,
                                           const std::string& body) = 0;
};

} // namespace aetherium::github
