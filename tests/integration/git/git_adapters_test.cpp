// The git workspace provider and the local code host against real git repositories in a
// temporary directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include "adapters/git/git_adapters.hpp"
#include "tests/support/run_command.hpp"

using namespace aetherium;
namespace fs = std::filesystem;
using aetherium::testing::run_command;

namespace {

class git_adapters : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("aetherium-git-" + std::to_string(::getpid()) + "-"
                                         + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "src");
    write(root_ / "src/README.md", "hello\n");
    write(root_ / "src/old.txt", "to be deleted\n");
    sh("cd " + (root_ / "src").string() + " && git init -q -b main && git add -A && "
       "git -c user.name=t -c user.email=t@t commit -q -m init && git clone -q --bare . ../repo.git");
    bare_ = (root_ / "repo.git").string();
    base_ = sh("git -C " + bare_ + " rev-parse main");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream{p, std::ios::binary} << text;
  }
  static std::string sh(const std::string& cmd) {
    auto out = run_command(cmd);
    EXPECT_EQ(out.exit_code, 0) << cmd << "\n" << out.output;
    return out.output.substr(0, out.output.find('\n'));
  }

  /// Checks out main and makes the kinds of change an agent makes.
  change_set agent_changes(const fs::path& ws) {
    auto sha = provider_->checkout(bare_, "main", ws);
    EXPECT_TRUE(sha.ok()) << sha.err().detail;
    write(ws / "README.md", "hello, world\n");
    write(ws / "src/new.py", "print('new')\n");
    write(ws / "logo.bin", std::string("\x89PNG\0\x01\x02", 7));
    fs::remove(ws / "old.txt");
    write(ws / ".aetherium/prompt.md", "not part of the change");
    auto changes = provider_->collect(ws, *sha, 1 << 20);
    EXPECT_TRUE(changes.ok()) << changes.err().detail;
    return *changes;
  }

  fs::path root_;
  std::string bare_, base_;
  std::shared_ptr<workspace_provider> provider_ = make_git_workspace_provider(65534, 65534);
};

TEST_F(git_adapters, checkout_gives_the_sandbox_user_a_tree_at_the_requested_ref) {
  auto sha = provider_->checkout(bare_, "main", root_ / "ws");
  ASSERT_TRUE(sha.ok()) << sha.err().detail;
  EXPECT_EQ(*sha, base_);
  EXPECT_TRUE(fs::exists(root_ / "ws/README.md"));
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "ws/README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
}

TEST_F(git_adapters, checkout_of_a_missing_ref_or_repository_is_not_found) {
  auto ref = provider_->checkout(bare_, "no-such-branch", root_ / "ws1");
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.err().code, errc::not_found);
  auto repo = provider_->checkout((root_ / "nope.git").string(), "main", root_ / "ws2");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.err().code, errc::not_found) << repo.err().detail;
  auto bad = provider_->checkout("--upload-pack=evil", "main", root_ / "ws3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::invalid_argument);
}

TEST_F(git_adapters, local_repositories_outside_the_roots_are_refused) {
  auto allowed = root_ / "allowed";
  sh("mkdir -p " + allowed.string() + " && git clone -q --bare " + bare_ + " " + (allowed / "ok.git").string() +
     " && ln -s " + bare_ + " " + (allowed / "escape.git").string());
  auto confined = make_git_workspace_provider(65534, 65534, {allowed.string()});
  auto inside = confined->checkout((allowed / "ok.git").string(), "main", root_ / "ws1");
  EXPECT_TRUE(inside.ok()) << inside.err().detail;
  auto as_url = confined->checkout("file://" + (allowed / "ok.git").string(), "main", root_ / "ws2");
  EXPECT_TRUE(as_url.ok()) << as_url.err().detail;
  for (std::string outside : {bare_, "file://" + bare_, (allowed / ".." / "repo.git").string(),
                              (allowed / "escape.git").string()}) {
    auto refused = confined->checkout(outside, "main", root_ / "ws3");
    ASSERT_FALSE(refused.ok()) << outside;
    EXPECT_EQ(refused.err().code, errc::forbidden) << outside;
    EXPECT_NE(refused.err().detail.find("outside the allowed roots"), std::string::npos) << refused.err().detail;
    EXPECT_FALSE(fs::exists(root_ / "ws3"));
  }
  EXPECT_EQ(confined->checkout("relative/repo.git", "main", root_ / "ws4").err().code, errc::invalid_argument);
  // Remote URLs are not local paths: they pass the check and fail (no network) in git.
  auto remote = confined->checkout("https://127.0.0.1:9/none.git", "main", root_ / "ws5");
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.err().code, errc::forbidden);
  auto host = make_local_git_code_host((root_ / "scratch").string(), {allowed.string()});
  pull_request_spec spec{bare_, "main", "aetherium/x", "t", "b", "t"};
  change_set changes;
  changes.base_commit = base_;
  changes.files = {{"README.md", file_change::kind::modified, "hi\n", false}};
  EXPECT_EQ(host->open_pull_request(spec, changes).err().code, errc::forbidden);
}

TEST_F(git_adapters, collect_finds_added_modified_deleted_and_binary_files_but_not_aetherium_files) {
  auto changes = agent_changes(root_ / "ws");
  std::map<std::string, file_change> by_path;
  for (auto& f : changes.files)
    by_path[f.path] = f;
  ASSERT_EQ(by_path.size(), 4u);
  EXPECT_EQ(by_path["README.md"].change, file_change::kind::modified);
  EXPECT_EQ(by_path["README.md"].content, "hello, world\n");
  EXPECT_EQ(by_path["src/new.py"].change, file_change::kind::added);
  EXPECT_EQ(by_path["old.txt"].change, file_change::kind::deleted);
  EXPECT_EQ(by_path["logo.bin"].content, std::string("\x89PNG\0\x01\x02", 7));
  EXPECT_NE(changes.patch.find("GIT binary patch"), std::string::npos);
  EXPECT_NE(changes.patch.find("+hello, world"), std::string::npos);
  EXPECT_EQ(changes.base_commit, base_);
}

TEST_F(git_adapters, collect_refuses_a_change_over_the_byte_budget) {
  auto sha = provider_->checkout(bare_, "main", root_ / "ws");
  write(root_ / "ws/big.txt", std::string(5000, 'x'));
  auto changes = provider_->collect(root_ / "ws", *sha, 1000);
  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.err().code, errc::invalid_argument);
  EXPECT_EQ(changes.err().field, "max_changed_bytes");
}

TEST_F(git_adapters, apply_replays_a_change_in_a_fresh_checkout) {
  auto changes = agent_changes(root_ / "ws");
  auto sha = provider_->checkout(bare_, "main", root_ / "shadow");
  ASSERT_TRUE(provider_->apply(root_ / "shadow", changes).ok());
  auto again = provider_->collect(root_ / "shadow", *sha, 1 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->patch, changes.patch);
}

TEST_F(git_adapters, the_local_code_host_pushes_one_commit_per_pull_request_and_update) {
  auto host = make_local_git_code_host((root_ / "scratch").string());
  pull_request_spec spec{bare_, "main", "aetherium/task-1", "Task 1", "body <!-- aetherium:task=1 -->", "Task 1"};
  auto changes = agent_changes(root_ / "ws");
  auto pr = host->open_pull_request(spec, changes);
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  EXPECT_EQ(pr->number, 1);
  EXPECT_EQ(sh("git -C " + bare_ + " rev-parse aetherium/task-1"), pr->head_commit);
  EXPECT_EQ(sh("git -C " + bare_ + " rev-parse aetherium/task-1^"), base_);
  EXPECT_EQ(sh("git -C " + bare_ + " show aetherium/task-1:README.md"), "hello, world");
  EXPECT_NE(run_command("git -C " + bare_ + " cat-file -e aetherium/task-1:old.txt").exit_code, 0);

  change_set follow_up;
  follow_up.files.push_back({"NOTES.md", file_change::kind::added, "more\n", false});
  auto updated = host->update_pull_request(spec, pr->number, follow_up);
  ASSERT_TRUE(updated.ok()) << updated.err().detail;
  EXPECT_EQ(sh("git -C " + bare_ + " rev-parse aetherium/task-1^"), pr->head_commit);
  EXPECT_EQ(sh("git -C " + bare_ + " show aetherium/task-1:NOTES.md"), "more");
  EXPECT_EQ(sh("git -C " + bare_ + " rev-parse main"), base_) << "the base branch must not move";

  auto missing = host->update_pull_request(spec, 99, follow_up);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().code, errc::not_found);
  EXPECT_FALSE(fs::exists(root_ / "scratch") && !fs::is_empty(root_ / "scratch"));
}

} // namespace
