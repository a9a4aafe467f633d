// The projection_snapshot_store contract: every case runs unchanged against each backend.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/contract/projection_snapshot_store/backend.hpp"

using namespace aetherium;
using aetherium::testing::make_backend;

namespace {

class projection_snapshot_store_contract : public ::testing::Test {
protected:
  void SetUp() override {
    backend_ = make_backend();
    store_ = backend_->store();
  }

  void save(const std::string& name, int format, std::int64_t position, const std::string& state) {
    auto ok = store_->save({name, format, position, state});
    ASSERT_TRUE(ok.ok()) << ok.err().detail;
  }

  projection_snapshot latest(const std::string& name) {
    auto got = backend_->reopened()->load_latest(name);
    EXPECT_TRUE(got.ok()) << got.err().detail;
    EXPECT_TRUE(got.ok() && got->has_value()) << "nothing saved under " << name;
    return got.ok() && got->has_value() ? **got : projection_snapshot{};
  }

  std::unique_ptr<aetherium::testing::backend> backend_;
  std::shared_ptr<projection_snapshot_store> store_;
};

TEST_F(projection_snapshot_store_contract, nothing_is_loaded_before_the_first_save) {
  auto got = store_->load_latest("task_board");
  ASSERT_TRUE(got.ok()) << got.err().detail;
  EXPECT_FALSE(got->has_value());
}

TEST_F(projection_snapshot_store_contract, the_latest_save_is_loaded_with_its_format_and_position) {
  save("task_board", 1, 10, "ten");
  save("task_board", 1, 25, "twenty-five");
  auto s = latest("task_board");
  EXPECT_EQ(s.name, "task_board");
  EXPECT_EQ(s.format_version, 1);
  EXPECT_EQ(s.position, 25);
  EXPECT_EQ(s.state, "twenty-five");
}

TEST_F(projection_snapshot_store_contract, state_bytes_round_trip_unchanged) {
  std::string bytes;
  for (int b = 0; b < 256; ++b)
    bytes.push_back(static_cast<char>(b));
  bytes += std::string(3, '\0') + bytes + std::string(1 << 20, 'x');
  save("task_board", 1, 1, bytes);
  EXPECT_EQ(latest("task_board").state, bytes);
}

TEST_F(projection_snapshot_store_contract, a_checkpoint_never_moves_backwards_within_a_format) {
  save("task_board", 1, 100, "hundred");
  save("task_board", 1, 40, "forty");
  EXPECT_EQ(latest("task_board").position, 100);
  EXPECT_EQ(latest("task_board").state, "hundred");
  save("task_board", 1, 100, "hundred again");
  EXPECT_EQ(latest("task_board").state, "hundred again") << "the same position is saved again";
}

TEST_F(projection_snapshot_store_contract, a_new_format_replaces_an_old_one_at_any_position) {
  save("task_board", 1, 100, "old");
  save("task_board", 2, 5, "new");
  auto s = latest("task_board");
  EXPECT_EQ(s.format_version, 2);
  EXPECT_EQ(s.position, 5);
  EXPECT_EQ(s.state, "new");
}

TEST_F(projection_snapshot_store_contract, names_are_kept_apart) {
  save("task_board", 1, 7, "board");
  save("other", 3, 9, "other");
  EXPECT_EQ(latest("task_board").state, "board");
  EXPECT_EQ(latest("other").format_version, 3);
  auto none = store_->load_latest("third");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(projection_snapshot_store_contract, bad_arguments_are_refused_and_keep_the_snapshot) {
  save("task_board", 1, 7, "kept");
  auto empty = store_->save({"", 1, 8, "x"});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.err().code, errc::invalid_argument);
  auto negative = store_->save({"task_board", 1, -1, "x"});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.err().code, errc::invalid_argument);
  EXPECT_EQ(latest("task_board").state, "kept");
}

TEST_F(projection_snapshot_store_contract, concurrent_saves_leave_the_highest_position) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([this, w] {
      for (int i = 0; i < 25; ++i) {
        auto p = i * 4 + w + 1;
        EXPECT_TRUE(store_->save({"task_board", 1, p, std::to_string(p)}).ok());
      }
    });
  for (auto& t : writers)
    t.join();
  auto s = latest("task_board");
  EXPECT_EQ(s.position, 100);
  EXPECT_EQ(s.state, "100");
}

} // namespace
