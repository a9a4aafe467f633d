// What a guest sends for its workspace is hostile: the host writes it with
// workspace_writer (adapters/sandbox/microvm/vm_parts.hpp), which must never write outside
// the workspace, follow a link, keep a setuid bit or exceed the disk's size.
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/sandbox/microvm/vm_parts.hpp"

namespace aetherium::sandbox::microvm {
namespace {

namespace fs = std::filesystem;
constexpr std::uint32_t dir_kind = 1, file_kind = 2, link_kind = 3;

class workspace_writer_test : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ws-writer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    fs::create_directories(top_ + "/ws");
    fs::create_directories(top_ + "/outside");
    root_ = ::open((top_ + "/ws").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_, 0);
  }
  void TearDown() override {
    ::close(root_);
    std::error_code ec;
    fs::remove_all(top_, ec);
  }
  std::string read(const std::string& rel) {
    std::ifstream in(top_ + "/ws/" + rel);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string top_;
  int root_ = -1;
};

TEST_F(workspace_writer_test, writes_directories_files_and_links_as_links_owned_by_the_task_user) {
  workspace_writer w(root_, 1000, 1000, 1 << 20);
  ASSERT_TRUE(w.add(dir_kind, "src", 0755, "").ok());
  ASSERT_TRUE(w.add(file_kind, "src/main.c", 04755, "int main;\n").ok());
  ASSERT_TRUE(w.add(link_kind, "passwd", 0777, "/etc/passwd").ok());
  EXPECT_EQ(read("src/main.c"), "int main;\n");
  struct stat st{};
  ASSERT_EQ(::stat((top_ + "/ws/src/main.c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "the setuid bit is dropped";
  EXPECT_EQ(st.st_uid, 1000u);
  ASSERT_EQ(::lstat((top_ + "/ws/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(fs::read_symlink(top_ + "/ws/passwd"), "/etc/passwd");
}

TEST_F(workspace_writer_test, refuses_paths_that_leave_the_workspace_or_are_not_plain) {
  workspace_writer w(root_, 1000, 1000, 1 << 20);
  std::vector<std::string> bad_paths = {"../outside/x", "a/../../outside/x", "/etc/passwd", "", ".", "a//b",
                                        "a/./b", std::string("a\0b", 3), std::string(300, 'n')};
  for (auto& bad : bad_paths) {
    auto r = w.add(file_kind, bad, 0644, "x");
    EXPECT_FALSE(r.ok()) << "accepted '" << bad << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.err().code, errc::invalid_argument);
    }
  }
  EXPECT_TRUE(fs::is_empty(top_ + "/outside"));
  EXPECT_TRUE(fs::is_empty(top_ + "/ws"));
}

TEST_F(workspace_writer_test, never_writes_through_a_link_it_made_or_found) {
  workspace_writer w(root_, 1000, 1000, 1 << 20);
  ASSERT_TRUE(w.add(link_kind, "escape", 0777, top_ + "/outside").ok());
  EXPECT_FALSE(w.add(file_kind, "escape/owned", 0644, "pwned").ok());
  EXPECT_FALSE(w.add(dir_kind, "escape/dir", 0755, "").ok());
  EXPECT_FALSE(w.add(link_kind, "escape/link", 0777, "/").ok());
  // A second entry of the same name does not replace (or write through) the link.
  EXPECT_FALSE(w.add(file_kind, "escape", 0644, "pwned").ok());
  EXPECT_TRUE(fs::is_empty(top_ + "/outside"));
  EXPECT_TRUE(fs::is_symlink(top_ + "/ws/escape"));
}

TEST_F(workspace_writer_test, refuses_more_bytes_than_the_disk_or_too_many_entries_and_unknown_kinds) {
  workspace_writer w(root_, 1000, 1000, 10, 3);
  EXPECT_TRUE(w.add(file_kind, "a", 0644, "12345").ok());
  EXPECT_FALSE(w.add(file_kind, "b", 0644, "123456").ok()) << "11 bytes in all for a 10-byte disk";
  EXPECT_TRUE(w.add(file_kind, "c", 0644, "12345").ok());
  EXPECT_FALSE(w.add(dir_kind, "d", 0755, "").ok()) << "a fourth entry";
  workspace_writer other(root_, 1000, 1000, 100);
  EXPECT_FALSE(other.add(7, "weird", 0644, "").ok());
  EXPECT_FALSE(other.add(link_kind, "empty-target", 0777, "").ok());
  EXPECT_FALSE(fs::exists(top_ + "/ws/weird"));
}

} // namespace
} // namespace aetherium::sandbox::microvm
