#include "events/code_host.hpp"

#include <algorithm>

#include <cctype>

namespace aetherium {

bool is_git_dir_name(const std::string& component) noexcept {
  std::string lower;
  for (char c : component)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (!lower.empty() && (lower.back() == '.' || lower.back() == ' '))
    lower.pop_back();
  return lower == ".git" || lower == "git~1";
}

bool valid_change_path(const std::string& path) noexcept {
  if (path.empty() || path.size() > 4096 || path.front() == '/' || path.find('\0') != std::string::npos)
    return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos)
      end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || is_git_dir_name(part))
      return false;
    start = end + 1;
  }
  return true;
}

std::size_t change_set::changed_bytes() const {
  std::size_t n = 0;
  for (auto& f : files)
    n += f.content.size() + f.path.size();
  return n;
}

bool has_marker_line(const std::string& message, const std::string& line) noexcept {
  std::size_t at = 0;
  while (at <= message.size()) {
    auto end = std::min(message.find('\n', at), message.size());
    if (end - at == line.size() && message.compare(at, end - at, line) == 0)
      return true;
    at = end + 1;
  }
  return false;
}

bool same_commit_message(const std::string& a, const std::string& b) noexcept {
  auto length = [](const std::string& s) {
    auto n = s.size();
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
      --n;
    return n;
  };
  auto n = length(a);
  return n == length(b) && a.compare(0, n, b, 0, n) == 0;
}

} // namespace aetherium
