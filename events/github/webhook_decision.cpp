#include "events/github/webhook_decision.hpp"

#include <cstring>

#include "events/line_ends.hpp"

namespace aetherium::github {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b]))
    ++b;
  while (e > b && is_space(s[e - 1]))
    --e;
  return s.substr(b, e - b);
}

/// The text after the run command, or nothing when `body` is not a run command.
bool split_command(const std::string& body, std::string& rest) {
  auto text = trim(normalize_line_ends(body));
  auto n = std::strlen(run_command);
  if (text.compare(0, n, run_command) != 0)
    return false;
  if (text.size() > n && !is_space(text[n]))
    return false;
  rest = trim(text.substr(n));
  return true;
}

} // namespace

bool may_run_commands(const std::string& association) {
  return association == "OWNER" || association == "MEMBER" || association == "COLLABORATOR";
}

decision decide(const delivery_fields& f) {
  if (f.event == "ping")
    return pong{f.delivery_id};
  if (f.event != "issue_comment")
    return ignored{"event \"" + f.event + "\" is not handled"};
  if (f.action != "created")
    return ignored{"issue_comment action \"" + f.action + "\" is not handled"};
  if (!f.on_pull_request)
    return ignored{"comment on issue #" + std::to_string(f.number) + " of " + f.repo + ", not on a pull request"};
  std::string prompt;
  if (!split_command(f.comment_body, prompt))
    return ignored{"comment " + std::to_string(f.comment_id) + " is not a " + run_command + " command"};
  if (!may_run_commands(f.author_association))
    return ignored{"author " + f.author + " (association \"" + f.author_association
                   + "\") may not run commands; OWNER, MEMBER or COLLABORATOR required"};
  if (prompt.empty())
    return ignored{"comment " + std::to_string(f.comment_id) + " has an empty prompt"};
  if (f.repo.empty() || f.number <= 0)
    return ignored{"the delivery names no repository or pull request number"};
  return follow_up{f.repo, f.number, std::move(prompt), f.author, f.author_association,
                   f.comment_id, f.comment_url, f.delivery_id};
}

} // namespace aetherium::github
