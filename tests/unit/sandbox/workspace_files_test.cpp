#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/sandbox/workspace_files.hpp"

using aetherium::errc;
using namespace aetherium::sandbox;
namespace fs = std::filesystem;

namespace {

class workspace_files : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ws-test-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ + "/ws";
    fs::create_directories(root_ + "/sub");
    std::ofstream(base_ + "/outside.txt") << "host secret";
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string base_;
  std::string root_;
};

} // namespace

TEST(workspace_relative, maps_workspace_paths_and_rejects_the_rest) {
  EXPECT_EQ(*workspace_relative("/workspace/a/b.txt"), "a/b.txt");
  for (const char* bad : {"/etc/passwd", "/workspace", "/workspace/", "/workspace/../etc",
                          "/workspace/a/./b", "/workspace/a//b", "workspace/a", "/workspacex/a"}) {
    auto r = workspace_relative(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.err().code, errc::invalid_argument) << bad;
  }
}

TEST_F(workspace_files, writes_and_reads_back_a_file_with_its_mode) {
  ASSERT_TRUE(write_beneath(root_, "sub/f.txt", "hello", 0640, ::getuid(), ::getgid()).ok());
  auto back = read_beneath(root_, "sub/f.txt", 1024);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello");
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/sub/f.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_TRUE(write_beneath(root_, "sub/f.txt", "hi", 0600, ::getuid(), ::getgid()).ok());
  EXPECT_EQ(*read_beneath(root_, "sub/f.txt", 1024), "hi");
}

TEST_F(workspace_files, does_not_follow_a_final_symlink_out_of_the_workspace) {
  fs::create_symlink(base_ + "/outside.txt", root_ + "/link");
  auto read = read_beneath(root_, "link", 1024);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.err().code, errc::invalid_argument);
  auto written = write_beneath(root_, "link", "x", 0644, ::getuid(), ::getgid());
  ASSERT_FALSE(written.ok());
  std::ifstream in(base_ + "/outside.txt");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "host secret");
}

TEST_F(workspace_files, resolves_directory_symlinks_inside_the_workspace) {
  fs::create_directory_symlink("../..", root_ + "/up");
  fs::create_directory_symlink("/", root_ + "/abs");
  // Both links resolve to the workspace root itself, never to its parent.
  ASSERT_TRUE(write_beneath(root_, "up/x.txt", "x", 0644, ::getuid(), ::getgid()).ok());
  EXPECT_TRUE(fs::exists(root_ + "/x.txt"));
  EXPECT_FALSE(fs::exists(base_ + "/x.txt"));
  auto escaped = read_beneath(root_, "abs/outside.txt", 1024);
  ASSERT_FALSE(escaped.ok());
  EXPECT_EQ(escaped.err().code, errc::not_found);
}

TEST_F(workspace_files, reports_missing_files_and_oversized_reads) {
  EXPECT_EQ(read_beneath(root_, "nope", 10).err().code, errc::not_found);
  ASSERT_TRUE(write_beneath(root_, "big", std::string(100, 'x'), 0644, ::getuid(), ::getgid()).ok());
  EXPECT_EQ(read_beneath(root_, "big", 99).err().code, errc::invalid_argument);
  EXPECT_EQ(read_beneath(root_, "sub", 99).err().code, errc::invalid_argument);
}
