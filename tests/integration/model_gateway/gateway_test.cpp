// The model gateway against a real provider API stub on loopback: calls made over its UNIX
// socket (as a sandbox's relay makes them) with a placeholder key reach the provider with
// the real key, their usage is recorded as the provider reported it, and budgets hold.
#include <atomic>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/model_gateway/http_gateway.hpp"
#include "tests/agents/provider_stub.hpp"
#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/run_command.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;

namespace {

constexpr const char* real_key = "sk-real-7b0c1e9d4f";

class model_gateway_test : public ::testing::Test {
protected:
  void SetUp() override {
    stub_ = std::make_unique<provider_stub>("anthropic", work_.path + "/stub", real_key);
    ASSERT_NO_FATAL_FAILURE(stub_->start());
    model_gateway::gateway_options options;
    options.socket_dir = work_.path + "/gateway";
    options.upstreams["anthropic"] = stub_->url();
    options.upstreams["openai"] = stub_->url(); // never reached: no key for it
    options.prices = models::price_table{};
    options.prices.set(models::provider::anthropic, "claude-priced*", {300, 1500});
    gateway_ = model_gateway::make_http_model_gateway(options);
  }

  models::session_spec spec(std::uint64_t budget_microcents = 0) {
    models::session_spec s;
    s.task = "t1";
    s.providers = {"anthropic"};
    s.keys = {{"anthropic", real_key}};
    s.budget_microcents = budget_microcents;
    s.on_call = [this](const models::call_record& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.push_back(r);
      return result<void>{};
    };
    s.on_exhausted = [this](const std::string& why) {
      std::lock_guard<std::mutex> lock(mutex_);
      exhausted_.push_back(why);
    };
    return s;
  }

  /// POSTs a Messages request over the session's socket with the placeholder key.
  command_output call(const models::gateway_session& s, const std::string& path, const std::string& model,
                      bool stream) {
    auto body = json{{"model", model}, {"max_tokens", 64}, {"stream", stream},
                     {"messages", {{{"role", "user"}, {"content", "hello"}}}}}
                  .dump();
    return run_command("curl -sS -N --unix-socket '" + s.socket_path() + "' -H 'x-api-key: "
                       + models::placeholder_key + "' -H 'content-type: application/json' -w '\\nstatus=%{http_code}' "
                       + "--data-binary '" + body + "' http://gateway" + path);
  }

  temp_dir work_;
  std::unique_ptr<provider_stub> stub_;
  std::shared_ptr<models::model_gateway> gateway_;
  std::mutex mutex_;
  std::vector<models::call_record> calls_;
  std::vector<std::string> exhausted_;
};

TEST_F(model_gateway_test, a_call_reaches_the_provider_with_the_real_key_and_its_usage_is_recorded) {
  auto s = gateway_->open(spec());
  ASSERT_TRUE(s.ok()) << s.err().detail;
  for (bool stream : {false, true}) {
    auto out = call(**s, "/anthropic/v1/messages", "claude-priced-1", stream);
    EXPECT_NE(out.output.find("status=200"), std::string::npos) << out.output;
  }
  auto seen = stub_->requests();
  ASSERT_EQ(seen.size(), 2u);
  for (auto& r : seen) {
    EXPECT_EQ(r["headers"].value("x-api-key", ""), real_key);
    EXPECT_EQ(r.dump().find(models::placeholder_key), std::string::npos) << "the placeholder reached the provider";
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ASSERT_EQ(calls_.size(), 2u);
  std::uint64_t cost = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    auto& u = seen[i]["usage"];
    EXPECT_EQ(calls_[i].input_tokens, u.at("input_tokens").get<std::uint64_t>()) << i;
    EXPECT_EQ(calls_[i].output_tokens, u.at("output_tokens").get<std::uint64_t>()) << i;
    EXPECT_TRUE(calls_[i].read);
    EXPECT_TRUE(calls_[i].priced);
    EXPECT_EQ(calls_[i].cost_microcents, calls_[i].input_tokens * 300 + calls_[i].output_tokens * 1500);
    cost += calls_[i].cost_microcents;
  }
  EXPECT_EQ((*s)->spent_microcents(), cost);
  EXPECT_TRUE(exhausted_.empty());
}

TEST_F(model_gateway_test, a_provider_the_task_does_not_name_is_refused_before_any_call) {
  auto s = gateway_->open(spec());
  ASSERT_TRUE(s.ok()) << s.err().detail;
  auto out = call(**s, "/openai/v1/responses", "gpt-x", false);
  EXPECT_NE(out.output.find("status=403"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("may not use openai"), std::string::npos) << out.output;
  auto unknown = call(**s, "/mistral/v1/chat", "m", false);
  EXPECT_NE(unknown.output.find("status=404"), std::string::npos) << unknown.output;
  EXPECT_TRUE(stub_->requests().empty());
}

TEST_F(model_gateway_test, the_call_that_reaches_the_budget_ends_it_and_the_next_is_refused_without_reaching_the_provider) {
  auto s = gateway_->open(spec(1'000'000)); // 1 cent: one call of ~1000 input tokens at 3 $/Mtok is 0.3 cents
  ASSERT_TRUE(s.ok()) << s.err().detail;
  int answered = 0;
  for (int i = 0; i < 10 && (*s)->exhausted().empty(); ++i, ++answered)
    EXPECT_NE(call(**s, "/anthropic/v1/messages", "claude-priced-1", true).output.find("status=200"), std::string::npos);
  ASSERT_FALSE((*s)->exhausted().empty()) << "ten calls never reached a budget of one cent";
  EXPECT_GE((*s)->spent_microcents(), 1'000'000u);
  auto refused = call(**s, "/anthropic/v1/messages", "claude-priced-1", false);
  EXPECT_NE(refused.output.find("status=403"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("cost budget"), std::string::npos) << refused.output;
  EXPECT_EQ(stub_->requests().size(), static_cast<std::size_t>(answered));
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(exhausted_.size(), 1u);
  EXPECT_EQ(calls_.size(), static_cast<std::size_t>(answered));
}

TEST_F(model_gateway_test, calls_sent_together_under_a_budget_pass_it_one_at_a_time) {
  auto s = gateway_->open(spec(1)); // any call reaches a budget of one microcent
  ASSERT_TRUE(s.ok()) << s.err().detail;
  auto body = json{{"model", "claude-priced-1"}, {"max_tokens", 64}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}
                .dump();
  std::string one = "curl -sS --unix-socket '" + (*s)->socket_path() + "' -H 'x-api-key: " + models::placeholder_key
                    + "' -H 'content-type: application/json' -o /dev/null -w 'status=%{http_code}\\n' --data-binary '"
                    + body + "' http://gateway/anthropic/v1/messages";
  std::string all;
  for (int i = 0; i < 8; ++i)
    all += one + " & ";
  auto out = run_command(all + "wait");
  std::size_t ok = 0, refused = 0;
  for (std::size_t at = out.output.find("status="); at != std::string::npos; at = out.output.find("status=", at + 1)) {
    ok += out.output.compare(at, 10, "status=200") == 0;
    refused += out.output.compare(at, 10, "status=403") == 0;
  }
  EXPECT_EQ(ok, 1u) << out.output;
  EXPECT_EQ(refused, 7u) << out.output;
  EXPECT_EQ(stub_->requests().size(), 1u) << "a call let through before the one ahead of it was accounted";
}

TEST_F(model_gateway_test, a_budget_spent_before_the_run_refuses_the_first_call) {
  auto sp = spec(1'000'000);
  sp.spent_microcents = 1'000'000;
  auto s = gateway_->open(std::move(sp));
  ASSERT_TRUE(s.ok()) << s.err().detail;
  EXPECT_NE(call(**s, "/anthropic/v1/messages", "claude-priced-1", false).output.find("status=403"), std::string::npos);
  EXPECT_TRUE(stub_->requests().empty());
}

TEST_F(model_gateway_test, under_a_budget_a_model_without_a_price_is_refused_and_without_one_it_is_recorded_unpriced) {
  {
    auto s = gateway_->open(spec(100'000'000));
    ASSERT_TRUE(s.ok()) << s.err().detail;
    auto out = call(**s, "/anthropic/v1/messages", "claude-unpriced", false);
    EXPECT_NE(out.output.find("status=403"), std::string::npos) << out.output;
    EXPECT_NE(out.output.find("no price"), std::string::npos) << out.output;
    EXPECT_TRUE(stub_->requests().empty());
  }
  auto s = gateway_->open(spec());
  ASSERT_TRUE(s.ok()) << s.err().detail;
  EXPECT_NE(call(**s, "/anthropic/v1/messages", "claude-unpriced", false).output.find("status=200"), std::string::npos);
  std::lock_guard<std::mutex> lock(mutex_);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_FALSE(calls_[0].priced);
  EXPECT_EQ(calls_[0].cost_microcents, 0u);
  EXPECT_GT(calls_[0].input_tokens, 0u);
}

TEST_F(model_gateway_test, a_provider_key_missing_for_a_named_provider_refuses_the_session) {
  auto sp = spec();
  sp.keys.clear();
  auto s = gateway_->open(std::move(sp));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err().detail.find("anthropic_api_key"), std::string::npos) << s.err().detail;
}

TEST_F(model_gateway_test, the_socket_is_gone_once_the_session_ends) {
  std::string path;
  {
    auto s = gateway_->open(spec());
    ASSERT_TRUE(s.ok()) << s.err().detail;
    path = (*s)->socket_path();
    EXPECT_TRUE(std::filesystem::exists(path));
    auto mode = std::filesystem::status(path).permissions();
    EXPECT_EQ(mode & std::filesystem::perms::others_all, std::filesystem::perms::none);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(model_gateway_fail_closed, an_answer_whose_usage_cannot_be_read_ends_a_budget_but_not_a_run_without_one) {
  temp_dir work;
  provider_stub stub{"anthropic", work.path + "/stub", real_key, {"--no-usage"}};
  ASSERT_NO_FATAL_FAILURE(stub.start());
  model_gateway::gateway_options options;
  options.socket_dir = work.path + "/gateway";
  options.upstreams["anthropic"] = stub.url();
  auto gateway = model_gateway::make_http_model_gateway(options);
  for (std::uint64_t budget : {std::uint64_t{0}, std::uint64_t{100'000'000}}) {
    std::vector<models::call_record> calls;
    std::vector<std::string> exhausted;
    models::session_spec s;
    s.task = "t";
    s.providers = {"anthropic"};
    s.keys = {{"anthropic", real_key}};
    s.budget_microcents = budget;
    s.on_call = [&](const models::call_record& r) {
      calls.push_back(r);
      return result<void>{};
    };
    s.on_exhausted = [&](const std::string& why) { exhausted.push_back(why); };
    auto session = gateway->open(std::move(s));
    ASSERT_TRUE(session.ok()) << session.err().detail;
    auto body = R"({"model":"claude-sonnet-4-5","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]})";
    auto curl = "curl -sS -N --unix-socket '" + (*session)->socket_path()
                + "' -H 'content-type: application/json' -w '\nstatus=%{http_code}' --data-binary '" + body
                + "' http://gateway/anthropic/v1/messages";
    EXPECT_NE(run_command(curl).output.find("status=200"), std::string::npos);
    auto second = run_command(curl).output;
    ASSERT_FALSE(calls.empty());
    EXPECT_FALSE(calls[0].read);
    EXPECT_EQ(calls[0].cost_microcents, 0u);
    if (budget == 0) {
      EXPECT_TRUE(exhausted.empty()) << "without a budget an unreadable answer is recorded, nothing more";
      EXPECT_NE(second.find("status=200"), std::string::npos) << second;
    } else {
      ASSERT_EQ(exhausted.size(), 1u) << "under a budget, spend that cannot be read must stop the run";
      EXPECT_NE(exhausted[0].find("could not be read"), std::string::npos) << exhausted[0];
      EXPECT_NE(second.find("status=403"), std::string::npos) << second;
    }
  }
}

TEST(model_gateway_upstreams, names_and_urls_are_checked) {
  auto u = model_gateway::default_upstreams();
  ASSERT_TRUE(model_gateway::parse_upstreams("anthropic=http://127.0.0.1:9/,gemini=https://eu.example.com", u).ok());
  EXPECT_EQ(u["anthropic"], "http://127.0.0.1:9");
  EXPECT_EQ(u["gemini"], "https://eu.example.com");
  EXPECT_EQ(u["openai"], "https://api.openai.com");
  EXPECT_FALSE(model_gateway::parse_upstreams("mistral=https://x.example", u).ok());
  EXPECT_FALSE(model_gateway::parse_upstreams("openai=ftp://x.example", u).ok());
  EXPECT_FALSE(model_gateway::parse_upstreams("openai", u).ok());
}

} // namespace
