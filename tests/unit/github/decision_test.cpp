// What a webhook delivery asks for: the real payloads in the fixtures, then each rule.
#include <gtest/gtest.h>

#include "adapters/github/webhook_payload.hpp"
#include "events/github/webhook_decision.hpp"
#include "tests/support/github_stub/github_stub.hpp"

using namespace aetherium;
using namespace aetherium::github;
using aetherium::testing::read_fixture;

namespace {

decision decide_fixture(const std::string& event, const std::string& body) {
  auto fields = extract_delivery_fields({{"x-github-event", event}, {"x-github-delivery", "d-1"}}, body);
  EXPECT_TRUE(fields.ok()) << fields.err().detail;
  return fields.ok() ? decide(*fields) : decision{ignored{"unreadable"}};
}

/// The PR-comment fixture with its comment body (and optionally more) replaced.
std::string comment_payload(const std::string& body, const std::string& association = "MEMBER") {
  auto j = nlohmann::json::parse(read_fixture("webhooks/issue_comment.created.json"));
  j["comment"]["body"] = body;
  j["comment"]["author_association"] = association;
  return j.dump();
}

delivery_fields command(const std::string& body) {
  delivery_fields f;
  f.event = "issue_comment";
  f.delivery_id = "d-2";
  f.action = "created";
  f.on_pull_request = true;
  f.number = 12;
  f.repo = "acme/widgets";
  f.comment_body = body;
  f.comment_id = 99;
  f.author = "alice";
  f.author_association = "OWNER";
  return f;
}

std::string reason_of(const decision& d) {
  auto* i = std::get_if<ignored>(&d);
  return i ? i->reason : std::string{"(not ignored)"};
}

TEST(webhook_decision, every_fixture_gives_the_expected_outcome) {
  EXPECT_TRUE(std::holds_alternative<pong>(decide_fixture("ping", read_fixture("webhooks/ping.json"))));
  EXPECT_TRUE(std::holds_alternative<pong>(decide_fixture("ping", read_fixture("webhooks/ping.with-app_id.json"))));
  for (auto name : {"pull_request.opened", "pull_request.opened.with-null-body", "pull_request.synchronize",
                    "pull_request.closed"}) {
    auto d = decide_fixture("pull_request", read_fixture(std::string{"webhooks/"} + name + ".json"));
    EXPECT_NE(reason_of(d).find("event \"pull_request\" is not handled"), std::string::npos) << name;
  }
  auto comment = decide_fixture("issue_comment", read_fixture("webhooks/issue_comment.created.json"));
  EXPECT_NE(reason_of(comment).find("is not a /aetherium run command"), std::string::npos) << reason_of(comment);
}

TEST(webhook_decision, a_run_command_in_the_real_pr_comment_payload_is_a_follow_up) {
  auto d = decide_fixture("issue_comment", comment_payload("/aetherium run add a CONTRIBUTING.md\n"));
  auto* f = std::get_if<follow_up>(&d);
  ASSERT_NE(f, nullptr) << reason_of(d);
  EXPECT_EQ(f->repo, "all-contributors/all-contributors-bot");
  EXPECT_EQ(f->pr_number, 1);
  EXPECT_EQ(f->prompt, "add a CONTRIBUTING.md");
  EXPECT_EQ(f->author, "jakebolam");
  EXPECT_EQ(f->author_association, "MEMBER");
  EXPECT_EQ(f->comment_id, 453012966);
  EXPECT_EQ(f->comment_url, "https://github.com/all-contributors/all-contributors-bot/pull/1#issuecomment-453012966");
  EXPECT_EQ(f->delivery_id, "d-1");
}

TEST(webhook_decision, a_comment_sent_with_crlf_line_ends_gives_a_prompt_without_carriage_returns) {
  // GitHub's web editor sends CRLF: the real comment of the fixture, as the editor sends it.
  auto real = nlohmann::json::parse(read_fixture("webhooks/issue_comment.created.json"))["comment"]["body"].get<std::string>();
  std::string crlf;
  for (char c : "/aetherium run create greeting.txt\n" + real + "\n")
    crlf += c == '\n' ? std::string{"\r\n"} : std::string(1, c);
  auto d = decide_fixture("issue_comment", comment_payload(crlf));
  auto* f = std::get_if<follow_up>(&d);
  ASSERT_NE(f, nullptr) << reason_of(d);
  EXPECT_EQ(f->prompt.find('\r'), std::string::npos);
  EXPECT_EQ(f->prompt, "create greeting.txt\n" + real);
  // A lone carriage return (old Mac line ends) is a line end too.
  EXPECT_EQ(std::get<follow_up>(decide(command("/aetherium run a\rb\r"))).prompt, "a\nb");
}

TEST(webhook_decision, only_owners_members_and_collaborators_may_run_commands) {
  for (auto association : {"OWNER", "MEMBER", "COLLABORATOR"}) {
    auto f = command("/aetherium run fix it");
    f.author_association = association;
    EXPECT_TRUE(std::holds_alternative<follow_up>(decide(f))) << association;
  }
  for (auto association : {"CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE", "", "owner"}) {
    auto f = command("/aetherium run fix it");
    f.author_association = association;
    EXPECT_NE(reason_of(decide(f)).find("may not run commands"), std::string::npos) << association;
  }
}

TEST(webhook_decision, a_comment_on_a_plain_issue_is_ignored) {
  auto f = command("/aetherium run fix it");
  f.on_pull_request = false;
  EXPECT_NE(reason_of(decide(f)).find("not on a pull request"), std::string::npos);
  auto j = nlohmann::json::parse(comment_payload("/aetherium run fix it"));
  j["issue"].erase("pull_request");
  auto d = decide_fixture("issue_comment", j.dump());
  EXPECT_NE(reason_of(d).find("not on a pull request"), std::string::npos);
}

TEST(webhook_decision, edited_and_deleted_comments_are_ignored) {
  for (auto action : {"edited", "deleted", ""}) {
    auto f = command("/aetherium run fix it");
    f.action = action;
    EXPECT_NE(reason_of(decide(f)).find("is not handled"), std::string::npos) << action;
  }
}

TEST(webhook_decision, an_empty_prompt_is_ignored) {
  for (auto body : {"/aetherium run", "/aetherium run   ", "/aetherium run\r\n\t\n"})
    EXPECT_NE(reason_of(decide(command(body))).find("empty prompt"), std::string::npos) << body;
}

TEST(webhook_decision, the_command_must_start_the_comment_and_stand_alone) {
  for (auto body : {"please /aetherium run fix it", "/aetherium running fix it", "/aetherium", "/Aetherium run x",
                    "aetherium run fix it", ""})
    EXPECT_NE(reason_of(decide(command(body))).find("not a /aetherium run command"), std::string::npos) << body;
}

TEST(webhook_decision, the_prompt_is_the_trimmed_rest_of_the_comment_and_may_span_lines) {
  auto d = decide(command("\r\n  /aetherium run\tfix the tests\r\nand the docs  \r\n"));
  auto* f = std::get_if<follow_up>(&d);
  ASSERT_NE(f, nullptr) << reason_of(d);
  EXPECT_EQ(f->prompt, "fix the tests\nand the docs");
  EXPECT_EQ(f->repo, "acme/widgets");
  EXPECT_EQ(f->pr_number, 12);
  EXPECT_EQ(f->author, "alice");
}

TEST(webhook_decision, ping_is_answered_and_other_events_are_ignored) {
  delivery_fields ping;
  ping.event = "ping";
  EXPECT_TRUE(std::holds_alternative<pong>(decide(ping)));
  auto push = command("/aetherium run fix it");
  push.event = "push";
  EXPECT_NE(reason_of(decide(push)).find("event \"push\" is not handled"), std::string::npos);
}

TEST(webhook_payload, headers_are_matched_case_insensitively_and_required) {
  auto body = read_fixture("webhooks/ping.json");
  auto f = extract_delivery_fields({{"X-GitHub-Event", "ping"}, {"X-GitHub-Delivery", "abc"}}, body);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->event, "ping");
  EXPECT_EQ(f->delivery_id, "abc");
  auto missing = extract_delivery_fields({{"x-github-delivery", "abc"}}, body);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().code, errc::invalid_argument);
}

TEST(webhook_payload, a_body_that_is_not_a_json_object_is_invalid) {
  for (auto body : {"", "not json", "[1, 2]", "\"text\"", "{\"truncated\": "}) {
    auto f = extract_delivery_fields({{"x-github-event", "issue_comment"}}, body);
    ASSERT_FALSE(f.ok()) << body;
    EXPECT_EQ(f.err().code, errc::invalid_argument);
  }
}

} // namespace
