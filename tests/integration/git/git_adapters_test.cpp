// The git workspace provider and the local code host against real git repositories in a
// temporary directory. The workspace is treated as an attacker would leave it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapters/git/git_adapters.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/silent_listener.hpp"

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
  void TearDown() override {
    for (auto& ws : {"ws", "ws1", "ws2", "ws3", "ws4", "ws5", "shadow"})
      provider_->release((root_ / ws).string());
    fs::remove_all(root_);
  }

  static void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream{p, std::ios::binary} << text;
  }
  static std::string sh(const std::string& cmd) {
    auto out = run_command(cmd);
    EXPECT_EQ(out.exit_code, 0) << cmd << "\n" << out.output;
    return out.output.substr(0, out.output.find('\n'));
  }

  result<std::string> checkout(const std::string& repo, const fs::path& ws, std::uint64_t disk = 0,
                               workspace_provider* p = nullptr, const std::string& tenant = "acme") {
    checkout_request r{repo, "main", ws.string(), tenant_id{tenant}, disk};
    r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    return (p ? p : provider_.get())->checkout(r);
  }

  /// Checks out main and makes the kinds of change an agent makes.
  change_set agent_changes(const fs::path& ws) {
    auto sha = checkout(bare_, ws);
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

  std::map<std::string, file_change> by_path(const change_set& c) {
    std::map<std::string, file_change> out;
    for (auto& f : c.files)
      out[f.path] = f;
    return out;
  }

  fs::path root_;
  std::string bare_, base_;
  std::shared_ptr<workspace_provider> provider_ = make_git_workspace_provider(65534, 65534);
};

TEST_F(git_adapters, checkout_gives_the_sandbox_user_plain_files_and_keeps_git_metadata_outside) {
  auto sha = checkout(bare_, root_ / "ws");
  ASSERT_TRUE(sha.ok()) << sha.err().detail;
  EXPECT_EQ(*sha, base_);
  EXPECT_TRUE(fs::exists(root_ / "ws/README.md"));
  EXPECT_FALSE(fs::exists(root_ / "ws/.git")) << "the sandbox must never see the repository's metadata";
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "ws/README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  provider_->release((root_ / "ws").string());
  EXPECT_FALSE(fs::exists(root_ / "ws"));
  EXPECT_FALSE(fs::exists(root_ / "ws.git"));
}

TEST_F(git_adapters, a_bounded_workspace_is_a_filesystem_of_its_own_size) {
  ASSERT_TRUE(checkout(bare_, root_ / "ws", 4 << 20).ok());
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs((root_ / "ws").c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_blocks * vfs.f_frsize, 4u << 20);
  EXPECT_TRUE(provider_->check_space((root_ / "ws").string()).ok());
  auto fill = run_command("dd if=/dev/zero of=" + (root_ / "ws/fill").string() + " bs=1M count=8 2>&1");
  EXPECT_NE(fill.exit_code, 0) << "writing past the limit must fail: " << fill.output;
  auto full = provider_->check_space((root_ / "ws").string());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.err().field, "disk_bytes");
}

TEST_F(git_adapters, checkout_of_a_missing_ref_or_repository_is_not_found) {
  checkout_request r{bare_, "no-such-branch", (root_ / "ws1").string(), tenant_id{"acme"}};
  auto ref = provider_->checkout(r);
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.err().code, errc::not_found);
  EXPECT_FALSE(fs::exists(root_ / "ws1.git")) << "a failed checkout leaves nothing behind";
  auto repo = checkout((root_ / "nope.git").string(), root_ / "ws2");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.err().code, errc::not_found) << repo.err().detail;
  auto bad = checkout("--upload-pack=evil", root_ / "ws3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::invalid_argument);
}

TEST_F(git_adapters, local_repositories_belong_to_one_tenant) {
  auto roots = root_ / "roots";
  sh("mkdir -p " + (roots / "acme").string() + " " + (roots / "beta").string() + " && git clone -q --bare " + bare_ +
     " " + (roots / "acme/ok.git").string() + " && ln -s " + bare_ + " " + (roots / "acme/escape.git").string());
  repository_policy policy;
  policy.local_roots = {roots.string()};
  auto confined = make_git_workspace_provider(65534, 65534, policy);
  auto inside = checkout((roots / "acme/ok.git").string(), root_ / "ws1", 0, confined.get());
  EXPECT_TRUE(inside.ok()) << inside.err().detail;
  confined->release((root_ / "ws1").string());
  auto as_url = checkout("file://" + (roots / "acme/ok.git").string(), root_ / "ws2", 0, confined.get());
  EXPECT_TRUE(as_url.ok()) << as_url.err().detail;
  confined->release((root_ / "ws2").string());
  for (std::string outside : {bare_, "file://" + bare_, (roots / "acme" / ".." / ".." / "repo.git").string(),
                              (roots / "acme/escape.git").string()}) {
    auto refused = checkout(outside, root_ / "ws3", 0, confined.get());
    ASSERT_FALSE(refused.ok()) << outside;
    EXPECT_EQ(refused.err().code, errc::forbidden) << outside;
    EXPECT_FALSE(fs::exists(root_ / "ws3"));
  }
  auto other_tenant = checkout((roots / "acme/ok.git").string(), root_ / "ws3", 0, confined.get(), "beta");
  ASSERT_FALSE(other_tenant.ok());
  EXPECT_EQ(other_tenant.err().code, errc::forbidden) << other_tenant.err().detail;
  for (std::string tenant : {"..", ".", ""})
    EXPECT_FALSE(checkout((roots / "acme/ok.git").string(), root_ / "ws3", 0, confined.get(), tenant).ok()) << tenant;
  EXPECT_EQ(checkout("relative/repo.git", root_ / "ws4", 0, confined.get()).err().code, errc::invalid_argument);
  auto host = make_local_git_code_host(policy);
  pull_request_spec spec{(roots / "acme/ok.git").string(), "main", "aetherium/x", "t", "b", "t", tenant_id{"beta"}};
  change_set changes;
  changes.base_commit = base_;
  changes.files = {{"README.md", file_change::kind::modified, "hi\n", false}};
  EXPECT_EQ(host->open_pull_request(spec, changes).err().code, errc::forbidden);
  EXPECT_NE(run_command("git --git-dir=" + (roots / "acme/ok.git").string() + " rev-parse --verify aetherium/x").exit_code, 0);
}

TEST_F(git_adapters, transports_other_than_https_and_hosts_not_allowed_are_refused) {
  auto marker = root_ / "transport-marker";
  for (std::string repo : std::vector<std::string>{"fd::0", "ext::sh -c touch% " + marker.string(), "git://127.0.0.1/x.git",
                           "http://127.0.0.1/x.git", "ssh://github.com/x/y.git", "git@github.com:x/y.git"}) {
    auto refused = checkout(repo, root_ / "ws1");
    ASSERT_FALSE(refused.ok()) << repo;
    EXPECT_EQ(refused.err().code, errc::invalid_argument) << repo << ": " << refused.err().detail;
  }
  auto host = checkout("https://internal.example/x.git", root_ / "ws2");
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.err().code, errc::forbidden);
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(git_adapters, a_remote_that_never_answers_is_stopped_by_the_deadline_and_by_cancel) {
  aetherium::testing::silent_listener listener;
  auto where = listener.address();
  ASSERT_FALSE(where.empty());
  repository_policy policy;
  policy.remote_hosts = {where};
  auto provider = make_git_workspace_provider(65534, 65534, policy);
  checkout_request r{"https://" + where + "/x.git", "main", (root_ / "ws1").string(), tenant_id{"acme"}};
  r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto late = provider->checkout(r);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.err().code, errc::unavailable);
  EXPECT_NE(late.err().detail.find("deadline"), std::string::npos) << late.err().detail;
  r.dir = (root_ / "ws2").string();
  r.deadline = std::chrono::steady_clock::time_point::max();
  auto start = std::chrono::steady_clock::now();
  r.cancelled = [start] { return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(300); };
  auto cancelled = provider->checkout(r);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_NE(cancelled.err().detail.find("cancelled"), std::string::npos) << cancelled.err().detail;
}

TEST_F(git_adapters, collect_finds_added_modified_deleted_and_binary_files_but_not_aetherium_files) {
  auto changes = agent_changes(root_ / "ws");
  auto files = by_path(changes);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files["README.md"].change, file_change::kind::modified);
  EXPECT_EQ(files["README.md"].content, "hello, world\n");
  EXPECT_EQ(files["src/new.py"].change, file_change::kind::added);
  EXPECT_EQ(files["old.txt"].change, file_change::kind::deleted);
  EXPECT_EQ(files["logo.bin"].content, std::string("\x89PNG\0\x01\x02", 7));
  EXPECT_NE(changes.patch.find("GIT binary patch"), std::string::npos);
  EXPECT_NE(changes.patch.find("+hello, world"), std::string::npos);
  EXPECT_EQ(changes.base_commit, base_);
}

TEST_F(git_adapters, git_metadata_an_agent_plants_is_never_run_nor_collected) {
  auto ws = root_ / "ws";
  auto sha = checkout(bare_, ws);
  ASSERT_TRUE(sha.ok());
  auto marker = root_ / "pwned";
  auto cmd = "touch " + marker.string();
  write(ws / ".git/config", "[core]\n\tfsmonitor = \"" + cmd + "\"\n\thooksPath = hooks\n[diff]\n\texternal = \"" + cmd +
                              "\"\n[filter \"x\"]\n\tclean = \"" + cmd + "\"\n[diff \"x\"]\n\ttextconv = \"" + cmd + "\"\n");
  for (auto hook : {"post-index-change", "pre-commit", "post-commit", "reference-transaction"})
    write(ws / ".git/hooks" / hook, "#!/bin/sh\n" + cmd + "\n");
  write(ws / ".git/index", std::string("DIRC\0\0\0\2garbage", 16));
  write(ws / ".git/HEAD", "ref: refs/heads/main\n");
  write(ws / "sub/.GIT/config", "[core]\n\tfsmonitor = \"" + cmd + "\"\n");
  write(ws / "hooks/post-index-change", "#!/bin/sh\n" + cmd + "\n");
  write(ws / ".gitattributes", "* filter=x diff=x\n");
  run_command("chmod -R +x " + ws.string() + "/.git/hooks " + ws.string() + "/hooks");
  auto changes = provider_->collect(ws, *sha, 1 << 20);
  ASSERT_TRUE(changes.ok()) << changes.err().detail;
  for (auto& f : changes->files)
    EXPECT_TRUE(valid_change_path(f.path)) << f.path;
  auto files = by_path(*changes);
  EXPECT_EQ(files.count(".git/config"), 0u);
  EXPECT_EQ(files.count("sub/.GIT/config"), 0u);
  EXPECT_EQ(files.count(".gitattributes"), 1u) << "ordinary files named like git's are data";
  EXPECT_GE(changes->ignored.size(), 2u);
  auto shadow = root_ / "shadow";
  ASSERT_TRUE(checkout(bare_, shadow).ok());
  ASSERT_TRUE(provider_->apply(shadow, *changes).ok());
  auto host = make_local_git_code_host();
  pull_request_spec spec{bare_, "main", "aetherium/t", "t", "b", "t"};
  ASSERT_TRUE(host->open_pull_request(spec, *changes).ok());
  EXPECT_FALSE(fs::exists(marker)) << "a planted git config or hook ran on the host";
  EXPECT_NE(run_command("git -C " + bare_ + " cat-file -e aetherium/t:.git/config").exit_code, 0);
}

TEST_F(git_adapters, links_are_collected_as_links_and_special_files_are_left_out) {
  auto ws = root_ / "ws";
  auto sha = checkout(bare_, ws);
  ASSERT_TRUE(sha.ok());
  write(root_ / "host-secret", "host-only-bytes\n");
  fs::create_symlink(root_ / "host-secret", ws / "leak");
  fs::create_symlink("/proc/self/cmdline", ws / "cmdline");
  fs::create_hard_link(ws / "README.md", ws / "hard");
  ASSERT_EQ(::mkfifo((ws / "pipe").c_str(), 0644), 0);
  auto changes = provider_->collect(ws, *sha, 1 << 20);
  ASSERT_TRUE(changes.ok()) << changes.err().detail;
  auto files = by_path(*changes);
  ASSERT_TRUE(files.count("leak"));
  EXPECT_TRUE(files["leak"].symlink);
  EXPECT_EQ(files["leak"].content, (root_ / "host-secret").string());
  EXPECT_EQ(files["cmdline"].content, "/proc/self/cmdline");
  EXPECT_EQ(files["hard"].content, "hello\n");
  EXPECT_EQ(files.count("pipe"), 0u);
  EXPECT_EQ(changes->patch.find("host-only-bytes"), std::string::npos);
  auto host = make_local_git_code_host();
  pull_request_spec spec{bare_, "main", "aetherium/links", "t", "b", "t"};
  ASSERT_TRUE(host->open_pull_request(spec, *changes).ok());
  EXPECT_EQ(sh("git -C " + bare_ + " ls-tree aetherium/links leak | cut -c1-6"), "120000");
  EXPECT_EQ(run_command("git -C " + bare_ + " grep -q host-only-bytes aetherium/links").exit_code, 1);
}

TEST_F(git_adapters, a_huge_sparse_file_is_refused_without_being_read) {
  auto ws = root_ / "ws";
  auto sha = checkout(bare_, ws);
  ASSERT_TRUE(sha.ok());
  run_command("truncate -s 64G " + (ws / "sparse").string());
  rusage before {};
  ::getrusage(RUSAGE_SELF, &before);
  auto changes = provider_->collect(ws, *sha, 16 << 20);
  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.err().field, "max_changed_bytes");
  rusage after {};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024) << "kB of peak memory grown";
}

TEST_F(git_adapters, collect_refuses_a_change_over_the_byte_budget) {
  auto sha = checkout(bare_, root_ / "ws");
  write(root_ / "ws/big.txt", std::string(5000, 'x'));
  auto changes = provider_->collect(root_ / "ws", *sha, 1000);
  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.err().code, errc::invalid_argument);
  EXPECT_EQ(changes.err().field, "max_changed_bytes");
}

TEST_F(git_adapters, apply_replays_a_change_in_a_fresh_checkout_and_never_writes_through_a_link) {
  auto changes = agent_changes(root_ / "ws");
  auto sha = checkout(bare_, root_ / "shadow");
  ASSERT_TRUE(provider_->apply(root_ / "shadow", changes).ok());
  auto again = provider_->collect(root_ / "shadow", *sha, 1 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->patch, changes.patch);
  change_set through_link;
  through_link.files = {{"out", file_change::kind::added, root_.string(), false, true},
                        {"out/escaped.txt", file_change::kind::added, "x", false}};
  EXPECT_FALSE(provider_->apply(root_ / "shadow", through_link).ok());
  EXPECT_FALSE(fs::exists(root_ / "escaped.txt"));
  change_set git_path;
  git_path.files = {{".git/hooks/post-commit", file_change::kind::added, "#!/bin/sh\n", true}};
  EXPECT_EQ(provider_->apply(root_ / "shadow", git_path).err().code, errc::invalid_argument);
}

TEST_F(git_adapters, replay_rebuilds_the_change_from_its_stored_patch_alone) {
  auto sha = checkout(bare_, root_ / "ws");
  ASSERT_TRUE(sha.ok());
  write(root_ / "ws/README.md", "hello, world\n");
  write(root_ / "ws/logo.bin", std::string("\x89PNG\0\x01\x02", 7));
  fs::remove(root_ / "ws/old.txt");
  fs::create_symlink("README.md", root_ / "ws/link");
  write(root_ / "ws/run.sh", "#!/bin/sh\n");
  fs::permissions(root_ / "ws/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  auto collected = provider_->collect(root_ / "ws", *sha, 1 << 20);
  ASSERT_TRUE(collected.ok()) << collected.err().detail;
  provider_->release((root_ / "ws").string()); // the process that collected it is gone

  ASSERT_TRUE(checkout(bare_, root_ / "ws1").ok());
  auto replayed = provider_->replay(root_ / "ws1", *sha, collected->patch);
  ASSERT_TRUE(replayed.ok()) << replayed.err().detail;
  auto want = by_path(*collected), got = by_path(*replayed);
  ASSERT_EQ(got.size(), want.size());
  for (auto& [path, f] : want) {
    ASSERT_TRUE(got.count(path)) << path;
    EXPECT_EQ(got[path].change, f.change) << path;
    EXPECT_EQ(got[path].content, f.content) << path;
    EXPECT_EQ(got[path].symlink, f.symlink) << path;
    EXPECT_EQ(got[path].executable, f.executable) << path;
  }
  EXPECT_EQ(replayed->patch, collected->patch);
  EXPECT_TRUE(fs::is_symlink(root_ / "ws1/link"));
  EXPECT_FALSE(fs::exists(root_ / "ws1/old.txt"));
  std::ifstream readme{root_ / "ws1/README.md"};
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>{readme}, {}), "hello, world\n");

  ASSERT_TRUE(checkout(bare_, root_ / "ws2").ok());
  auto bad = provider_->replay(root_ / "ws2", *sha, "--- a/nope\n+++ b/nope\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::invalid_argument);
}

TEST_F(git_adapters, the_local_code_host_commits_one_commit_per_pull_request_and_update) {
  auto host = make_local_git_code_host();
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
  change_set bad;
  bad.base_commit = base_;
  bad.files = {{".git/hooks/post-commit", file_change::kind::added, "#!/bin/sh\n", true}};
  EXPECT_EQ(host->open_pull_request({bare_, "main", "aetherium/bad", "t", "b", "t"}, bad).err().code, errc::invalid_argument);
}

TEST_F(git_adapters, an_open_killed_after_its_push_only_opens_the_pull_request_when_tried_again) {
  auto host = make_local_git_code_host();
  auto changes = agent_changes(root_ / "ws");
  // A push killed before the pull request's record was written: the branch, no record.
  pull_request_spec spec{bare_, "main", "aetherium/task-2", "Task 2", "body", "Task 2\n\nAetherium-Task: 2\n"};
  auto first = host->open_pull_request(spec, changes);
  ASSERT_TRUE(first.ok()) << first.err().detail;
  fs::remove(fs::path{bare_} / "aetherium" / "pulls" / "1");
  auto none = host->find_pull_request(spec);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto again = host->open_pull_request(spec, changes);
  ASSERT_TRUE(again.ok()) << again.err().detail;
  EXPECT_EQ(again->head_commit, first->head_commit) << "the change was pushed a second time";
  auto count = run_command("git -C " + bare_ + " rev-list --count main..aetherium/task-2");
  EXPECT_EQ(count.output, "1\n");
  auto found = host->find_pull_request(spec);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->number, again->number);
}

} // namespace
