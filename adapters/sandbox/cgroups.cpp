#include "adapters/sandbox/cgroups.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <thread>
#include <unistd.h>

namespace aetherium::sandbox {
namespace {

constexpr long cgroup1_magic = 0x27e0eb;
constexpr long cgroup2_magic = 0x63677270;
constexpr long tmpfs_magic = 0x01021994;

fs_kind kind_of(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return fs_kind::missing;
  switch (static_cast<long>(st.f_type)) {
    case cgroup1_magic: return fs_kind::cgroup1;
    case cgroup2_magic: return fs_kind::cgroup2;
    case tmpfs_magic: return fs_kind::tmpfs;
    default: return fs_kind::other;
  }
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return true;
}

std::uint64_t read_number(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) return 0;
  return std::strtoull(text.c_str(), nullptr, 10);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// v1 hierarchies: real directories (not the cpu -> cpu,cpuacct links) holding a cgroup fs.
std::vector<std::string> v1_hierarchies(const std::string& root) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(root.c_str());
  if (!dir) return names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !is_dir(root + "/" + name)) continue;
    fs_kind k = kind_of(root + "/" + name);
    if (k == fs_kind::cgroup1 || k == fs_kind::cgroup2) names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

void kill_members(const std::string& dir) {
  std::ifstream procs(dir + "/cgroup.procs");
  pid_t pid;
  while (procs >> pid)
    if (pid > 0) ::kill(pid, SIGKILL);
}

/// Removes `dir` and the groups below it; true when it is gone.
bool remove_tree(const std::string& dir) {
  if (!is_dir(dir)) return true;
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != ".." && e->d_type == DT_DIR) children.push_back(dir + "/" + name);
    }
    ::closedir(d);
    for (const auto& child : children) remove_tree(child);
  }
  kill_members(dir);
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

} // namespace

const char* to_string(cgroup_mode mode) noexcept {
  switch (mode) {
    case cgroup_mode::v1: return "v1";
    case cgroup_mode::hybrid: return "hybrid";
    case cgroup_mode::v2: return "v2";
  }
  return "v1";
}

result<cgroup_mode> classify_cgroups(fs_kind root, fs_kind unified) {
  if (root == fs_kind::cgroup2) return cgroup_mode::v2;
  if (root == fs_kind::tmpfs || root == fs_kind::other)
    return unified == fs_kind::cgroup2 ? cgroup_mode::hybrid : cgroup_mode::v1;
  return make_error(errc::unavailable, "no control groups are mounted");
}

cgroup_layout::cgroup_layout(cgroup_mode mode, std::string root,
                             std::vector<std::string> hierarchies)
    : mode_(mode), root_(std::move(root)), hierarchies_(std::move(hierarchies)) {}

result<cgroup_layout> cgroup_layout::detect(const std::string& root) {
  auto mode = classify_cgroups(kind_of(root), kind_of(root + "/unified"));
  if (!mode) return mode.err();
  std::vector<std::string> hierarchies;
  if (*mode != cgroup_mode::v2) {
    hierarchies = v1_hierarchies(root);
    if (hierarchies.empty())
      return make_error(errc::unavailable, "no cgroup v1 hierarchy under " + root);
  }
  return cgroup_layout(*mode, root, std::move(hierarchies));
}

std::vector<std::string> cgroup_layout::directories(const std::string& path) const {
  if (mode_ == cgroup_mode::v2) return {root_ + path};
  std::vector<std::string> dirs;
  for (const auto& h : hierarchies_) dirs.push_back(root_ + "/" + h + path);
  return dirs;
}

std::string cgroup_layout::controller_dir(const std::string& controller,
                                          const std::string& path) const {
  if (mode_ == cgroup_mode::v2) return root_ + path;
  return root_ + "/" + controller + path;
}

std::uint64_t parse_keyed_value(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() &&
        line[key.size()] == ' ')
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return 0;
}

std::uint64_t read_oom_kills(const cgroup_layout& layout, const std::string& path) {
  std::string text;
  bool v2 = layout.mode() == cgroup_mode::v2;
  auto file = layout.controller_dir("memory", path) + (v2 ? "/memory.events" : "/memory.oom_control");
  if (!read_file(file, text)) return 0;
  return parse_keyed_value(text, "oom_kill");
}

result<cgroup_usage> read_cgroup_usage(const cgroup_layout& layout, const std::string& path) {
  auto memory = layout.controller_dir("memory", path);
  if (!is_dir(memory)) return make_error(errc::not_found, "no control group " + path);
  cgroup_usage usage;
  usage.oom_kills = read_oom_kills(layout, path);
  usage.pids = static_cast<std::uint32_t>(read_number(layout.controller_dir("pids", path) + "/pids.current"));
  if (layout.mode() == cgroup_mode::v2) {
    usage.memory_bytes = read_number(memory + "/memory.current");
    std::string stat;
    read_file(memory + "/cpu.stat", stat);
    usage.cpu_ns = parse_keyed_value(stat, "usage_usec") * 1000;
  } else {
    usage.memory_bytes = read_number(memory + "/memory.usage_in_bytes");
    usage.cpu_ns = read_number(layout.controller_dir("cpuacct", path) + "/cpuacct.usage");
  }
  return usage;
}

result<void> remove_cgroup(const cgroup_layout& layout, const std::string& path,
                           std::chrono::steady_clock::time_point deadline) {
  if (path.empty() || path == "/")
    return make_error(errc::invalid_argument, "refusing to remove the root control group");
  for (;;) {
    bool all_gone = true;
    for (const auto& dir : layout.directories(path)) all_gone = remove_tree(dir) && all_gone;
    if (all_gone) return {};
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::unavailable, "control group " + path + " is still busy");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace aetherium::sandbox
