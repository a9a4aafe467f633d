#pragma once

// Internal to adapters/github: one libcurl connection to the GitHub REST API.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/github/github_adapters.hpp"
#include "events/result.hpp"

namespace aetherium::github {

/// An answer GitHub gave (after retries). Header names are lowercase.
struct rest_response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

/// Sends REST requests with the token and GitHub's media type, retrying 5xx answers and
/// transport failures with exponential backoff and waiting out short rate limits
/// (retry_policy.hpp). Requests are serialised; the connection is reused.
class github_rest {
public:
  explicit github_rest(github_options options);
  ~github_rest();
  github_rest(const github_rest&) = delete;
  github_rest& operator=(const github_rest&) = delete;

  /// Sends `method` to `path` (below api_base, starting with '/') with `body` as JSON when
  /// not empty. Returns the accepted answer, whatever its status (< 500, not a rate
  /// limit). Errors: unavailable (attempts exhausted, or a rate limit lifting later than
  /// allowed; the detail says when to retry).
  result<rest_response> call(const std::string& method, const std::string& path, const std::string& body = {});

private:
  rest_response attempt(const std::string& method, const std::string& url, const std::string& body,
                        std::string& transport_error);
  std::int64_t now_ms() const;

  github_options options_;
  std::mutex mtx_;
  void* handle_ = nullptr; ///< CURL*
};

/// Percent-encodes `text` for a URL path, keeping '/' (branch names hold slashes).
std::string encode_path(const std::string& text);

} // namespace aetherium::github
