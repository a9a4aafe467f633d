#pragma once

// Test-only: runs tests/support/github_stub/github_stub.py and talks to its stub endpoints.

#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace aetherium::testing {

/// The GitHub fixtures directory (webhooks/, rest/operations.json, signature-test-vector.json).
std::string github_fixtures_dir();

/// The bytes of a file, or an empty string (and a test failure) when it cannot be read.
std::string read_fixture(const std::string& relative_path);

/// A running GitHub REST API stub on a port chosen by the OS, stopped on destruction.
/// When python3 is missing or the stub does not start, running() is false and error()
/// says why: tests must ASSERT on it (they fail, never skip).
class github_stub {
public:
  github_stub();
  ~github_stub();
  github_stub(const github_stub&) = delete;
  github_stub& operator=(const github_stub&) = delete;

  bool running() const { return port_ > 0; }
  const std::string& error() const { return error_; }
  /// "http://127.0.0.1:PORT": the api_base to give the adapter.
  std::string base_url() const;

  /// Creates repository `full_name` with one commit of `files` (path → bytes) on
  /// `branch`; returns that commit's sha, which is `commit_sha` when given (the sha of the
  /// same commit in a real git repository the test serves the files from).
  std::string seed_repo(const std::string& full_name, const std::map<std::string, std::string>& files,
                        const std::string& branch = "main", const std::string& commit_sha = {});
  /// Every request the stub recorded since the last clear, oldest first.
  nlohmann::json requests();
  /// The recorded requests of one operation id (e.g. "git/create-commit").
  std::vector<nlohmann::json> requests_of(const std::string& operation);
  void clear_requests();
  /// Every problem the stub found in the recorded requests, as "METHOD path: problem".
  std::vector<std::string> problems();
  /// Makes the next matching requests fail (see github_stub.py, POST /_stub/fail).
  void fail(const nlohmann::json& rule);
  /// The commit at `ref` of `repo`: {"sha", "parents", "message", "files": {path: {mode, content_base64}}},
  /// or null when the ref does not exist.
  nlohmann::json state(const std::string& repo, const std::string& ref);
  /// {"pulls": [...], "comments": [...]} of `repo`.
  nlohmann::json pulls(const std::string& repo);
  /// Adds a comment on issue or pull request `number` as `login` with `association`
  /// (OWNER, CONTRIBUTOR, NONE, ...): one written by someone else on GitHub.
  void add_comment_as(const std::string& repo, std::int64_t number, const std::string& login,
                      const std::string& association, const std::string& body);

private:
  /// Sends a request to the stub; returns the status and fills `body`.
  long call(const std::string& method, const std::string& path, const std::string& payload, std::string& body);
  nlohmann::json call_json(const std::string& method, const std::string& path, const nlohmann::json& payload = {});

  pid_t pid_ = -1;
  int port_ = 0;
  int stdin_fd_ = -1; ///< The stub exits when this closes.
  std::string error_;
};

/// Standard base64 decoding (test helper for blob contents).
std::string base64_decode(const std::string& text);

} // namespace aetherium::testing
