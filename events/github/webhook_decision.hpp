#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace aetherium::github {

/// The comment command that starts a follow-up task: "/aetherium run <prompt>".
inline constexpr const char* run_command = "/aetherium run";

/// What the decision looks at in one webhook delivery, already taken out of the JSON
/// payload (and its headers) by the caller. Absent fields stay empty or zero.
struct delivery_fields {
  std::string event;              ///< X-GitHub-Event: "issue_comment", "ping", …
  std::string delivery_id;        ///< X-GitHub-Delivery.
  std::string action;             ///< payload.action ("created", "edited", …).
  bool on_pull_request = false;   ///< payload.issue.pull_request is present.
  std::int64_t number = 0;        ///< payload.issue.number (the pull request's number).
  std::string repo;               ///< payload.repository.full_name, "owner/name".
  std::string comment_body;       ///< payload.comment.body.
  std::int64_t comment_id = 0;    ///< payload.comment.id.
  std::string comment_url;        ///< payload.comment.html_url.
  std::string author;             ///< payload.comment.user.login.
  std::string author_association; ///< payload.comment.author_association.
};

/// A `/aetherium run` comment by someone with write access on a pull request: start a
/// follow-up task of the task that opened pull request `pr_number` of `repo`.
struct follow_up {
  std::string repo;
  std::int64_t pr_number = 0;
  std::string prompt;             ///< The comment after the command, trimmed, with "\n" line ends; never empty.
  std::string author;
  std::string author_association;
  std::int64_t comment_id = 0;
  std::string comment_url;
  std::string delivery_id;
};

/// A `ping` delivery (sent when the webhook is created): answer ok, nothing else.
struct pong {
  std::string delivery_id;
};

/// Anything else: acknowledge it and do nothing; `reason` is for the log.
struct ignored {
  std::string reason;
};

using decision = std::variant<follow_up, pong, ignored>;

/// Decides what a delivery asks for. Only an `issue_comment` with action `created` on a
/// pull request, whose body starts with `/aetherium run` (leading whitespace allowed, the
/// command followed by whitespace or the end) and whose author association is OWNER,
/// MEMBER or COLLABORATOR, and whose prompt is not empty, is a follow_up. Pure.
decision decide(const delivery_fields& fields);

/// True for the author associations that have write access: OWNER, MEMBER, COLLABORATOR.
bool may_run_commands(const std::string& author_association);

} // namespace aetherium::github
