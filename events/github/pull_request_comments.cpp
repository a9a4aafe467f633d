#include "events/github/pull_request_comments.hpp"

namespace aetherium::github {

std::string conversation_markdown(const std::string& title, const std::string& description,
                                  const std::vector<std::pair<std::string, std::string>>& comments) {
  std::string out = "# " + title + "\n\n" + description + "\n";
  for (auto& [author, body] : comments)
    out += "\n## " + (author.empty() ? std::string{"comment"} : author) + "\n\n" + body + "\n";
  return out;
}

} // namespace aetherium::github
