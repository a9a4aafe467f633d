#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  /// The id of a comment on pull request `number` whose body contains `marker`; nothing
  /// when none does (only the newest comments need be searched). How a writer killed
  /// after it commented, before it recorded that, finds the comment.
  /// Errors: as add_comment.
  /// The pull request's conversation as Markdown: its title and description, then its
  /// comments oldest first (at most the first 100), each under its author when known.
  /// What a follow-up's agent reads in `.aetherium/conversation.md`.
  /// Errors: as add_comment.
  virtual result<std::string> conversation(const std::string& repo, std::int64_t number) = 0;
  virtual result<std::optional<std::int64_t>> find_comment(const std::string& repo, std::int64_t number,
                                                           const std::string& marker) = 0;
};

/// The conversation() text: "# <title>", the description, then "## <author>" (or
/// "## comment") and each comment's body, oldest first.
std::string conversation_markdown(const std::string& title, const std::string& description,
                                  const std::vector<std::pair<std::string, std::string>>& comments);

} // namespace aetherium::github
