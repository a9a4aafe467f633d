#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aetherium::http {

/// A request as the handlers see it, independent of the server library.
struct http_request {
  std::string method; ///< "GET", "POST", …
  std::string path;   ///< Still percent-encoded.
  std::string query;  ///< Raw, without '?'.
  std::vector<std::pair<std::string, std::string>> headers; ///< Names in lowercase.
  std::string body;

  /// The value of header `name` (lowercase), or "" when absent.
  std::string_view header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name)
        return v;
    return {};
  }
  bool has_header(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (k == name)
        return true;
    return false;
  }
};

/// A complete response.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The body of a streamed (chunked) response, e.g. Server-Sent Events. Thread-safe.
class event_stream {
public:
  virtual ~event_stream() = default;
  /// Queues `text` for the client. False once the stream is closed.
  virtual bool send(std::string text) = 0;
  /// Ends the response after what was queued.
  virtual void finish() = 0;
  /// `fn` runs once when the stream closes for any reason: finish(), the client went away
  /// or fell too far behind, the server stops. Runs at once when already closed.
  virtual void on_close(std::function<void()> fn) = 0;
};

/// One request and the means to answer it, once, from any thread.
class exchange {
public:
  virtual ~exchange() = default;
  virtual const http_request& request() const = 0;
  /// Sends `response`. Only the first reply or start_stream of an exchange counts.
  virtual void reply(http_response response) = 0;
  /// Sends the status and headers of `head` and returns the stream carrying the body; null
  /// when the exchange was already answered.
  virtual std::shared_ptr<event_stream> start_stream(http_response head) = 0;
  /// Runs `fn` soon on a reactor thread, never inside the caller's stack (at the latest
  /// while the server stops). For work that must not run inside a callback of the core.
  virtual void defer(std::function<void()> fn) = 0;
};

} // namespace aetherium::http
