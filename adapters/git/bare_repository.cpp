#include <filesystem>
#include <fstream>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"

namespace aetherium {

namespace fs = std::filesystem;

result<void> create_bare_repository(const std::string& path, const std::string& branch,
                                    const std::map<std::string, std::string>& files) {
  if (files.empty())
    return make_error(errc::invalid_argument, "a repository needs at least one file", "files");
  if (fs::exists(fs::path{path} / "HEAD"))
    return {};
  auto work = fs::path{path}.string() + ".init";
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  for (auto& [name, content] : files) {
    auto file = fs::path{work} / name;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream{file, std::ios::binary} << content;
  }
  for (std::vector<std::string> args : {std::vector<std::string>{"init", "-q", "-b", branch},
                                        {"add", "-A"},
                                        {"commit", "-q", "-m", "Initial commit"},
                                        {"clone", "-q", "--bare", ".", fs::absolute(path).string()}}) {
    if (auto ok = git::git_ok(args, work); !ok) {
      fs::remove_all(work, ec);
      return ok.err();
    }
  }
  fs::remove_all(work, ec);
  return {};
}

} // namespace aetherium
