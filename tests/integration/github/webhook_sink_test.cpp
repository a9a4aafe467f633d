// The GitHub webhook sink with the real fixture payloads, signed here with a test secret.
#include <gtest/gtest.h>

#include <mutex>

#include "adapters/github/github_adapters.hpp"
#include "events/github/hmac_sha256.hpp"
#include "tests/support/github_stub/github_stub.hpp"

using namespace aetherium;
using aetherium::testing::read_fixture;

namespace {

const std::string secret = "webhook-test-secret";

class webhook_sink_test : public ::testing::Test {
protected:
  std::shared_ptr<api::webhook_sink> make_sink(std::function<result<void>(const github::follow_up&)> outcome = {}) {
    github_webhook_options o;
    o.secret = secret;
    o.on_follow_up = [this, outcome](github::follow_up f, std::function<void(result<void>)> done) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        follow_ups_.push_back(f);
      }
      done(outcome ? outcome(f) : result<void>{});
    };
    o.log = [this](const std::string& id, const std::string& message) {
      std::lock_guard<std::mutex> guard{mtx_};
      logs_.push_back(id + ": " + message);
    };
    return make_github_webhook_sink(std::move(o));
  }

  static api::webhook_delivery delivery(const std::string& event, const std::string& body, const std::string& id,
                                        const std::string& key = secret) {
    api::webhook_delivery d;
    d.headers = {{"x-github-event", event}, {"x-github-delivery", id}, {"user-agent", "GitHub-Hookshot/123abc"},
                 {"content-type", "application/json"}};
    if (!key.empty())
      d.headers["x-hub-signature-256"] = github::github_signature(key, body);
    d.body = body;
    return d;
  }

  static std::string run_comment(const std::string& body, const std::string& association = "MEMBER") {
    auto j = nlohmann::json::parse(read_fixture("webhooks/issue_comment.created.json"));
    j["comment"]["body"] = body;
    j["comment"]["author_association"] = association;
    return j.dump();
  }

  /// Delivers and returns the answer (the sink answers synchronously in these tests).
  static result<void> send(api::webhook_sink& sink, api::webhook_delivery d) {
    std::optional<result<void>> answer;
    sink.deliver(std::move(d), [&](result<void> r) { answer = std::move(r); });
    if (!answer)
      return make_error(errc::internal, "the sink did not answer");
    return *answer;
  }

  std::mutex mtx_;
  std::vector<github::follow_up> follow_ups_;
  std::vector<std::string> logs_;
};

TEST_F(webhook_sink_test, a_signed_run_command_reaches_the_handler_with_its_prompt_and_pull_request) {
  auto sink = make_sink();
  auto r = send(*sink, delivery("issue_comment", run_comment("/aetherium run make the tests pass"), "d-1"));
  ASSERT_TRUE(r.ok()) << r.err().detail;
  ASSERT_EQ(follow_ups_.size(), 1u);
  EXPECT_EQ(follow_ups_[0].repo, "all-contributors/all-contributors-bot");
  EXPECT_EQ(follow_ups_[0].pr_number, 1);
  EXPECT_EQ(follow_ups_[0].prompt, "make the tests pass");
  EXPECT_EQ(follow_ups_[0].author, "jakebolam");
  EXPECT_EQ(follow_ups_[0].delivery_id, "d-1");
}

TEST_F(webhook_sink_test, the_unmodified_fixtures_are_acknowledged_without_a_follow_up) {
  auto sink = make_sink();
  std::vector<std::pair<std::string, std::string>> fixtures = {
      {"ping", "ping.json"}, {"ping", "ping.with-app_id.json"}, {"issue_comment", "issue_comment.created.json"},
      {"pull_request", "pull_request.opened.json"}, {"pull_request", "pull_request.opened.with-null-body.json"},
      {"pull_request", "pull_request.synchronize.json"}, {"pull_request", "pull_request.closed.json"}};
  int n = 0;
  for (auto& [event, file] : fixtures) {
    auto r = send(*sink, delivery(event, read_fixture("webhooks/" + file), "f-" + std::to_string(++n)));
    EXPECT_TRUE(r.ok()) << file << ": " << r.err().detail;
  }
  EXPECT_TRUE(follow_ups_.empty());
  ASSERT_EQ(logs_.size(), fixtures.size());
  EXPECT_EQ(logs_[0], "f-1: ping answered");
  EXPECT_NE(logs_[2].find("not a /aetherium run command"), std::string::npos) << logs_[2];
  EXPECT_NE(logs_[3].find("event \"pull_request\" is not handled"), std::string::npos) << logs_[3];
}

TEST_F(webhook_sink_test, a_bad_or_missing_signature_is_unauthorized_and_reaches_no_handler) {
  auto sink = make_sink();
  auto body = run_comment("/aetherium run do it");
  auto wrong_key = delivery("issue_comment", body, "d-1", "not-the-secret");
  auto missing = delivery("issue_comment", body, "d-2", "");
  auto tampered = delivery("issue_comment", body, "d-3");
  tampered.body = run_comment("/aetherium run do something else");
  auto sha1 = delivery("issue_comment", body, "d-4");
  sha1.headers["x-hub-signature-256"] = "sha1=" + github::hmac_sha256_hex(secret, body);
  for (auto* d : {&wrong_key, &missing, &tampered, &sha1}) {
    auto r = send(*sink, *d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, errc::unauthorized) << d->headers["x-github-delivery"];
  }
  EXPECT_TRUE(follow_ups_.empty());
  auto good = send(*sink, delivery("issue_comment", body, "d-1"));
  EXPECT_TRUE(good.ok()) << "a rejected delivery id is not remembered";
  EXPECT_EQ(follow_ups_.size(), 1u);
}

TEST_F(webhook_sink_test, the_signature_is_checked_before_the_body_is_parsed) {
  auto sink = make_sink();
  auto r = send(*sink, delivery("issue_comment", "{not json", "d-1", "wrong"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unauthorized);
  auto signed_garbage = send(*sink, delivery("issue_comment", "{not json", "d-2"));
  ASSERT_FALSE(signed_garbage.ok());
  EXPECT_EQ(signed_garbage.err().code, errc::invalid_argument);
}

TEST_F(webhook_sink_test, a_redelivered_id_reaches_the_handler_once) {
  auto sink = make_sink();
  auto d = delivery("issue_comment", run_comment("/aetherium run once"), "same-id");
  EXPECT_TRUE(send(*sink, d).ok());
  EXPECT_TRUE(send(*sink, d).ok());
  EXPECT_TRUE(send(*sink, d).ok());
  EXPECT_EQ(follow_ups_.size(), 1u);
  EXPECT_EQ(logs_.back(), "same-id: duplicate delivery, already handled");
  EXPECT_TRUE(send(*sink, delivery("issue_comment", run_comment("/aetherium run once"), "other-id")).ok());
  EXPECT_EQ(follow_ups_.size(), 2u);
}

TEST_F(webhook_sink_test, a_failed_follow_up_fails_the_delivery_and_a_redelivery_is_handled_again) {
  int calls = 0;
  auto sink = make_sink([&](const github::follow_up&) -> result<void> {
    if (++calls == 1)
      return make_error(errc::unavailable, "event store down");
    return {};
  });
  auto d = delivery("issue_comment", run_comment("/aetherium run retry me"), "d-9");
  auto first = send(*sink, d);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.err().code, errc::unavailable);
  EXPECT_TRUE(send(*sink, d).ok());
  EXPECT_EQ(follow_ups_.size(), 2u);
}

TEST_F(webhook_sink_test, a_pull_request_not_opened_by_aetherium_is_acknowledged_and_logged) {
  auto sink = make_sink([](const github::follow_up&) -> result<void> {
    return make_error(errc::not_found, "pull request 1 of that repository was not opened by Aetherium");
  });
  auto r = send(*sink, delivery("issue_comment", run_comment("/aetherium run x"), "d-5"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(logs_.back(), "d-5: ignored: pull request 1 of that repository was not opened by Aetherium");
}

TEST_F(webhook_sink_test, commands_from_people_without_write_access_are_ignored) {
  auto sink = make_sink();
  EXPECT_TRUE(send(*sink, delivery("issue_comment", run_comment("/aetherium run x", "CONTRIBUTOR"), "d-1")).ok());
  EXPECT_TRUE(follow_ups_.empty());
  EXPECT_NE(logs_.back().find("may not run commands"), std::string::npos);
}

TEST_F(webhook_sink_test, without_a_secret_every_delivery_is_unavailable) {
  github_webhook_options o;
  o.on_follow_up = [this](github::follow_up f, std::function<void(result<void>)> done) {
    follow_ups_.push_back(f);
    done({});
  };
  auto sink = make_github_webhook_sink(o);
  auto r = send(*sink, delivery("issue_comment", run_comment("/aetherium run x"), "d-1", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::unavailable);
  EXPECT_TRUE(follow_ups_.empty());
}

} // namespace
