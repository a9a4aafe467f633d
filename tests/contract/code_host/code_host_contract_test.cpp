// The code_host contract: every host turns a change set into exactly one commit on the
// head branch and a pull request, and fails the same way for the same mistakes.
#include <gtest/gtest.h>

#include "events/github/pull_request_comments.hpp"
#include "tests/contract/code_host/backend.hpp"

using namespace aetherium;
using aetherium::testing::branch_tip;
using aetherium::testing::stored_file;

namespace {

const std::string binary_logo{"\x89PNG\r\n\x1a\n\0\x01\xff\xfe", 12};

class code_host_contract : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(backend_->setup_error().empty()) << backend_->setup_error();
    repo_ = backend_->create_repo({{"README.md", "hello\n"}, {"old.txt", "to be deleted\n"}, {"src/keep.c", "int x;\n"}},
                                  base_);
    ASSERT_FALSE(base_.empty()) << repo_;
    spec_ = {repo_, "main", "aetherium/task-7", "Task 7", "Task 7 body <!-- aetherium:task=7 -->", "Task 7: changes"};
  }
  void TearDown() override {
    for (auto& p : backend_->problems())
      ADD_FAILURE() << "protocol problem: " << p;
  }

  /// The kinds of change an agent makes: modified, added (text, binary, executable), deleted.
  change_set agent_changes() const {
    change_set c;
    c.base_commit = base_;
    c.files = {{"README.md", file_change::kind::modified, "hello, world\n", false},
               {"src/new.py", file_change::kind::added, "print('new')\n", false},
               {"assets/logo.png", file_change::kind::added, binary_logo, false},
               {"run.sh", file_change::kind::added, "#!/bin/sh\necho hi\n", true},
               {"old.txt", file_change::kind::deleted, "", false}};
    return c;
  }

  std::map<std::string, stored_file> files_after_agent() const {
    return {{"README.md", {"hello, world\n", false}},   {"src/keep.c", {"int x;\n", false}},
            {"src/new.py", {"print('new')\n", false}}, {"assets/logo.png", {binary_logo, false}},
            {"run.sh", {"#!/bin/sh\necho hi\n", true}}};
  }

  std::unique_ptr<aetherium::testing::code_host_backend> backend_ = aetherium::testing::make_backend();
  std::string repo_, base_;
  pull_request_spec spec_;
};

TEST_F(code_host_contract, opening_a_pull_request_pushes_one_commit_with_every_change_on_a_new_branch) {
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  EXPECT_GT(pr->number, 0);
  EXPECT_EQ(pr->head_branch, spec_.head_branch);
  EXPECT_FALSE(pr->url.empty());
  auto tip = backend_->tip(repo_, spec_.head_branch);
  ASSERT_TRUE(tip.has_value());
  EXPECT_EQ(tip->commit, pr->head_commit);
  EXPECT_EQ(tip->parents, std::vector<std::string>{base_}) << "exactly one commit on top of the base";
  EXPECT_EQ(tip->files, files_after_agent());
  EXPECT_EQ(backend_->pull_body(repo_, pr->number), spec_.body);
}

TEST_F(code_host_contract, opening_a_pull_request_leaves_the_base_branch_alone) {
  ASSERT_TRUE(backend_->host()->open_pull_request(spec_, agent_changes()).ok());
  auto main = backend_->tip(repo_, "main");
  ASSERT_TRUE(main.has_value());
  EXPECT_EQ(main->commit, base_);
  EXPECT_EQ(main->files.count("old.txt"), 1u);
}

TEST_F(code_host_contract, updating_a_pull_request_pushes_one_more_commit_and_replaces_the_body) {
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  change_set follow_up;
  follow_up.base_commit = pr->head_commit;
  follow_up.files = {{"NOTES.md", file_change::kind::added, "more\n", false},
                     {"src/new.py", file_change::kind::modified, "print('newer')\n", false}};
  auto updated_spec = spec_;
  updated_spec.body = "Task 8 body <!-- aetherium:task=8 -->";
  auto updated = backend_->host()->update_pull_request(updated_spec, pr->number, follow_up);
  ASSERT_TRUE(updated.ok()) << updated.err().detail;
  EXPECT_EQ(updated->number, pr->number);
  auto tip = backend_->tip(repo_, spec_.head_branch);
  ASSERT_TRUE(tip.has_value());
  EXPECT_EQ(tip->commit, updated->head_commit);
  EXPECT_EQ(tip->parents, std::vector<std::string>{pr->head_commit});
  auto expected = files_after_agent();
  expected["NOTES.md"] = {"more\n", false};
  expected["src/new.py"] = {"print('newer')\n", false};
  EXPECT_EQ(tip->files, expected);
  EXPECT_EQ(backend_->pull_body(repo_, pr->number), updated_spec.body);
}

TEST_F(code_host_contract, updating_a_pull_request_keeps_the_base_it_was_opened_against) {
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  EXPECT_EQ(backend_->pull_base(repo_, pr->number), std::optional<std::string>{"main"});
  // A follow-up task starts from the pull request's branch and names it as its base.
  change_set follow_up;
  follow_up.base_commit = pr->head_commit;
  follow_up.files = {{"NOTES.md", file_change::kind::added, "more\n", false}};
  auto follow_up_spec = spec_;
  follow_up_spec.base_branch = spec_.head_branch;
  for (int round = 0; round < 2; ++round)
    ASSERT_TRUE(backend_->host()->update_pull_request(follow_up_spec, pr->number, follow_up).ok());
  EXPECT_EQ(backend_->pull_base(repo_, pr->number), std::optional<std::string>{"main"});
}

TEST_F(code_host_contract, a_missing_repository_is_not_found) {
  auto spec = spec_;
  spec.repo = backend_->missing_repo();
  auto pr = backend_->host()->open_pull_request(spec, agent_changes());
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::not_found) << pr.err().detail;
}

TEST_F(code_host_contract, updating_a_missing_pull_request_is_not_found) {
  auto r = backend_->host()->update_pull_request(spec_, 4242, agent_changes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::not_found) << r.err().detail;
}

TEST_F(code_host_contract, an_empty_change_set_is_invalid_and_pushes_nothing) {
  change_set empty;
  empty.base_commit = base_;
  auto opened = backend_->host()->open_pull_request(spec_, empty);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.err().code, errc::invalid_argument);
  EXPECT_FALSE(backend_->tip(repo_, spec_.head_branch).has_value());
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  auto updated = backend_->host()->update_pull_request(spec_, pr->number, empty);
  ASSERT_FALSE(updated.ok());
  EXPECT_EQ(updated.err().code, errc::invalid_argument);
  EXPECT_EQ(backend_->tip(repo_, spec_.head_branch)->commit, pr->head_commit);
}

TEST_F(code_host_contract, a_bad_head_branch_name_is_invalid) {
  auto spec = spec_;
  spec.head_branch = "-evil";
  auto pr = backend_->host()->open_pull_request(spec, agent_changes());
  ASSERT_FALSE(pr.ok());
  EXPECT_EQ(pr.err().code, errc::invalid_argument);
}

TEST_F(code_host_contract, an_opened_pull_request_is_found_by_its_head_branch_and_no_other) {
  auto none = backend_->host()->find_pull_request(spec_);
  ASSERT_TRUE(none.ok()) << none.err().detail;
  EXPECT_FALSE(none->has_value()) << "nothing is opened yet";
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  auto found = backend_->host()->find_pull_request(spec_);
  ASSERT_TRUE(found.ok()) << found.err().detail;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->number, pr->number);
  EXPECT_EQ((*found)->url, pr->url);
  EXPECT_EQ((*found)->head_commit, pr->head_commit);
  auto other = spec_;
  other.head_branch = "aetherium/task-8";
  auto missing = backend_->host()->find_pull_request(other);
  ASSERT_TRUE(missing.ok()) << missing.err().detail;
  EXPECT_FALSE(missing->has_value());
}

TEST_F(code_host_contract, a_pushed_commit_is_found_by_a_line_of_its_message) {
  auto spec = spec_;
  spec.commit_message = "Task 7: changes\n\nAetherium-Task: 7\n";
  auto absent = backend_->host()->find_commit(spec, "Aetherium-Task: 7");
  ASSERT_TRUE(absent.ok()) << absent.err().detail;
  EXPECT_FALSE(absent->has_value()) << "no branch yet";
  auto pr = backend_->host()->open_pull_request(spec, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  change_set follow_up;
  follow_up.base_commit = pr->head_commit;
  follow_up.files = {{"NOTES.md", file_change::kind::added, "more\n", false}};
  auto next = spec;
  next.commit_message = "Follow-up\n\nAetherium-Task: 8\n";
  auto updated = backend_->host()->update_pull_request(next, pr->number, follow_up);
  ASSERT_TRUE(updated.ok()) << updated.err().detail;
  auto first = backend_->host()->find_commit(spec, "Aetherium-Task: 7");
  ASSERT_TRUE(first.ok()) << first.err().detail;
  EXPECT_EQ(*first, std::optional<std::string>{pr->head_commit}) << "found below the branch's tip";
  auto second = backend_->host()->find_commit(spec, "Aetherium-Task: 8");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, std::optional<std::string>{updated->head_commit});
  auto part = backend_->host()->find_commit(spec, "Aetherium-Task:");
  ASSERT_TRUE(part.ok());
  EXPECT_FALSE(part->has_value()) << "a marker matches a whole line, not a part of one";
}

TEST_F(code_host_contract, a_comment_is_found_by_the_marker_in_its_body) {
  auto comments = std::dynamic_pointer_cast<github::pull_request_comments>(backend_->host());
  ASSERT_TRUE(comments) << "every code host writes pull request comments";
  auto pr = backend_->host()->open_pull_request(spec_, agent_changes());
  ASSERT_TRUE(pr.ok()) << pr.err().detail;
  auto repo = spec_.repo;
  auto none = comments->find_comment(repo, pr->number, "<!-- aetherium:event=1 -->");
  ASSERT_TRUE(none.ok()) << none.err().detail;
  EXPECT_FALSE(none->has_value());
  auto id = comments->add_comment(repo, pr->number, "Started.\n<!-- aetherium:event=1 -->");
  ASSERT_TRUE(id.ok()) << id.err().detail;
  ASSERT_TRUE(comments->add_comment(repo, pr->number, "Other.\n<!-- aetherium:event=2 -->").ok());
  auto found = comments->find_comment(repo, pr->number, "<!-- aetherium:event=1 -->");
  ASSERT_TRUE(found.ok()) << found.err().detail;
  EXPECT_EQ(*found, std::optional<std::int64_t>{*id});
  auto said = comments->conversation(repo, pr->number);
  ASSERT_TRUE(said.ok()) << said.err().detail;
  EXPECT_NE(said->find("# " + spec_.title), std::string::npos) << *said;
  EXPECT_NE(said->find(spec_.body), std::string::npos) << *said;
  auto started = said->find("Started.");
  ASSERT_NE(started, std::string::npos) << *said;
  EXPECT_LT(started, said->find("Other.")) << "comments oldest first: " << *said;
  auto missing = comments->add_comment(repo, 4242, "nobody reads this");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().code, errc::not_found) << missing.err().detail;
}

} // namespace
