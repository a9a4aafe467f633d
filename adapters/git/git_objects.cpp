#include "adapters/git/git_objects.hpp"

#include <ctime>

namespace aetherium::git {

namespace {

/// A path as fast-import reads it: C-style quoted, so any byte but NUL survives.
std::string quoted(const std::string& path) {
  std::string out = "\"";
  for (unsigned char c : path) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* oct = "01234567";
      out += {'\\', oct[c >> 6], oct[(c >> 3) & 7], oct[c & 7]};
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string data_block(const std::string& bytes) { return "data " + std::to_string(bytes.size()) + "\n" + bytes + "\n"; }

} // namespace

result<std::map<std::string, base_entry>> list_tree(const std::string& git_dir, const std::string& commit,
                                                    const git_limits& limits) {
  auto listing = git_ok({"--git-dir=" + git_dir, "ls-tree", "-r", "-z", "-l", "--full-tree", commit}, "/", {}, limits);
  if (!listing)
    return listing.err();
  std::map<std::string, base_entry> out;
  std::size_t at = 0;
  const auto& text = *listing;
  while (at < text.size()) {
    auto end = text.find('\0', at);
    if (end == std::string::npos)
      end = text.size();
    auto line = text.substr(at, end - at);
    at = end + 1;
    auto tab = line.find('\t');
    if (tab == std::string::npos)
      continue;
    // "<mode> <type> <oid> <size>\t<path>", the size right-aligned ("-" for submodules).
    base_entry e;
    auto fields = line.substr(0, tab);
    auto s1 = fields.find(' '), s2 = fields.find(' ', s1 + 1), s3 = fields.find_first_not_of(' ', fields.find(' ', s2 + 1));
    e.mode = fields.substr(0, s1);
    e.oid = fields.substr(s2 + 1, fields.find(' ', s2 + 1) - s2 - 1);
    auto size = s3 == std::string::npos ? std::string{"-"} : fields.substr(s3);
    e.size = size == "-" ? 0 : std::stoull(size);
    out[line.substr(tab + 1)] = std::move(e);
  }
  return out;
}

result<std::string> commit_files(const std::string& git_dir, const std::string& ref, const std::string& parent,
                                 const std::string& message, const std::vector<file_change>& files,
                                 const git_limits& limits) {
  auto when = std::to_string(std::time(nullptr)) + " +0000\n";
  std::string stream = "commit " + ref + "\nauthor " + std::string{committer_identity} + " " + when + "committer " +
                       committer_identity + " " + when + data_block(message) + "from " + parent + "\n";
  for (const auto& f : files) {
    if (!valid_change_path(f.path))
      return make_error(errc::invalid_argument, "unsafe path in the change: " + f.path, "path");
    if (f.change == file_change::kind::deleted) {
      stream += "D " + quoted(f.path) + "\n";
      continue;
    }
    auto mode = f.symlink ? "120000" : f.executable ? "100755" : "100644";
    stream += std::string{"M "} + mode + " inline " + quoted(f.path) + "\n" + data_block(f.content);
  }
  stream += "done\n";
  auto imported = run_git({"--git-dir=" + git_dir, "fast-import", "--quiet", "--done"}, "/", stream, limits);
  if (!imported)
    return imported.err();
  if (imported->exit_code != 0) {
    if (imported->err.find("not updating") != std::string::npos || imported->err.find("does not contain") != std::string::npos)
      return make_error(errc::conflict, "the branch moved: " + imported->err);
    return make_error(errc::internal, "git fast-import failed: " + imported->err);
  }
  auto sha = git_ok({"--git-dir=" + git_dir, "rev-parse", "--verify", ref + "^{commit}"}, "/", {}, limits);
  if (!sha)
    return sha.err();
  return sha->substr(0, sha->find('\n'));
}

} // namespace aetherium::git
