#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "adapters/logs/file_task_log.hpp"

using namespace aetherium;
namespace fs = std::filesystem;

namespace {

class file_task_log_test : public ::testing::Test {
protected:
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_ = (fs::temp_directory_path() / ("aetherium-logs-" + std::to_string(::getpid()))).string();
  task_id task_{"t1"};
};

TEST_F(file_task_log_test, reads_back_chunks_with_offsets) {
  auto log = make_file_task_log(dir_);
  ASSERT_TRUE(log->append(task_, "stdout", "hello ").ok());
  ASSERT_TRUE(log->append(task_, "stderr", "oops\n").ok());
  auto all = log->read(task_, 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].offset, 6u);
  EXPECT_EQ(all[1].stream, "stderr");
  EXPECT_EQ(log->read(task_, 6).size(), 1u);
  EXPECT_TRUE(log->read(task_id{"other"}, 0).empty());
}

TEST_F(file_task_log_test, followers_get_history_then_live_chunks_then_the_end) {
  auto log = make_file_task_log(dir_);
  ASSERT_TRUE(log->append(task_, "stdout", "a").ok());
  std::string seen;
  bool ended = false;
  auto sub = log->follow(task_, 0, [&](const log_chunk& c) { seen += c.text; }, [&] { ended = true; });
  ASSERT_TRUE(log->append(task_, "stdout", "b").ok());
  EXPECT_FALSE(ended);
  log->close(task_);
  EXPECT_EQ(seen, "ab");
  EXPECT_TRUE(ended);
  EXPECT_FALSE(log->append(task_, "stdout", "late").ok());
  bool ended_again = false;
  auto later = log->follow(task_, 1, [&](const log_chunk& c) { seen += c.text; }, [&] { ended_again = true; });
  EXPECT_EQ(seen, "abb");
  EXPECT_TRUE(ended_again);
}

TEST_F(file_task_log_test, logs_survive_a_restart) {
  {
    auto log = make_file_task_log(dir_);
    ASSERT_TRUE(log->append(task_, "stdout", "line 1\n").ok());
    ASSERT_TRUE(log->append(task_, "stdout", std::string("bin\0ary", 7)).ok());
    log->close(task_);
  }
  auto log = make_file_task_log(dir_);
  auto all = log->read(task_, 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].text, std::string("bin\0ary", 7));
  EXPECT_FALSE(log->append(task_, "stdout", "x").ok()) << "closed before the restart";
}

TEST_F(file_task_log_test, a_log_stops_at_its_byte_limit_and_says_so) {
  auto log = make_file_task_log(dir_, 10);
  ASSERT_TRUE(log->append(task_, "stdout", "0123456").ok());
  ASSERT_TRUE(log->append(task_, "stdout", "789abcdef").ok());
  ASSERT_TRUE(log->append(task_, "stdout", "more").ok());
  std::string text;
  for (auto& c : log->read(task_, 0))
    if (c.stream != "system")
      text += c.text;
  EXPECT_EQ(text, "0123456789");
  EXPECT_EQ(log->read(task_, 0).back().stream, "system");
}

} // namespace
