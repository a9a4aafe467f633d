// The code_host contract against the GitHub host talking to the local GitHub REST stub.
#include "adapters/github/github_adapters.hpp"
#include "tests/contract/code_host/backend.hpp"
#include "tests/support/github_stub/github_stub.hpp"

namespace aetherium::testing {

namespace {

class github_backend : public code_host_backend {
public:
  github_backend() {
    if (!stub_.running())
      return;
    github_options options;
    options.token = "contract-token";
    options.api_base = stub_.base_url();
    options.initial_backoff = std::chrono::milliseconds{5};
    options.max_rate_limit_wait = std::chrono::milliseconds{0};
    host_ = make_github_code_host(options);
  }

  std::string setup_error() override { return stub_.error(); }
  std::shared_ptr<code_host> host() override { return host_; }

  std::string create_repo(const std::map<std::string, std::string>& files, std::string& base_commit) override {
    auto name = "acme/widgets-" + std::to_string(++repos_);
    base_commit = stub_.seed_repo(name, files);
    return name;
  }

  std::string missing_repo() override { return "acme/no-such-repo"; }

  std::optional<branch_tip> tip(const std::string& repo, const std::string& branch) override {
    auto s = stub_.state(repo, "refs/heads/" + branch);
    if (s.is_null())
      return std::nullopt;
    branch_tip t;
    t.commit = s["sha"];
    for (auto& p : s["parents"])
      t.parents.push_back(p);
    for (auto& [path, f] : s["files"].items())
      t.files[path] = {base64_decode(f["content_base64"]), f["mode"] == "100755"};
    return t;
  }

  std::optional<std::string> pull_body(const std::string& repo, std::int64_t number) override {
    auto all = stub_.pulls(repo);
    for (auto& p : all["pulls"])
      if (p["number"] == number)
        return p["body"].is_string() ? p["body"].get<std::string>() : std::string{};
    return std::nullopt;
  }

  std::optional<std::string> pull_base(const std::string& repo, std::int64_t number) override {
    auto all = stub_.pulls(repo);
    for (auto& p : all["pulls"])
      if (p["number"] == number)
        return p["base"].is_string() ? p["base"].get<std::string>() : std::string{};
    return std::nullopt;
  }

  std::vector<std::string> problems() override { return stub_.problems(); }

private:
  github_stub stub_;
  int repos_ = 0;
  std::shared_ptr<code_host> host_;
};

} // namespace

std::unique_ptr<code_host_backend> make_backend() { return std::make_unique<github_backend>(); }

} // namespace aetherium::testing
