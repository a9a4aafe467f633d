#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/result.hpp"

namespace aetherium::http {

/// Where the API is and who is asking.
struct client_options {
  std::string base_url = "http://127.0.0.1:8080"; ///< No trailing slash needed.
  std::string token;                              ///< API key or JWT; "" = none.
  long timeout_ms = 30000;                        ///< Per request (not for following logs).
  long reconnect_delay_ms = 500;                  ///< First pause before resuming a broken log stream; doubles up to 5 s.
  long reconnect_limit_ms = 60000;                ///< Give up following after this long without a connection.
  /// Told once each time a followed log stream is lost (why, as text), before reconnecting.
  std::function<void(const std::string& reason)> on_connection_lost;
};

/// A raw answer of the API.
struct client_response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; ///< Names in lowercase.
  std::string header(std::string_view name) const;
};

/// Filters of `task list`.
struct task_query {
  std::string project;
  std::string status;
  std::size_t limit = 0; ///< 0 = the server's default.
  std::string cursor;
};

/// A blocking client of the Aetherium HTTP API over libcurl, for the CLI. One connection is
/// reused across calls; not thread-safe (one client per thread).
///
/// Every call returns the response body (JSON text) on a 2xx answer. Any other status
/// becomes an error whose code mirrors the status (400/413 invalid_argument, 401
/// unauthorized, 403 forbidden, 404 not_found, 409 conflict, 422 invalid_transition, 429
/// quota_exceeded, 503 unavailable, other internal), with the server's message and field.
/// Transport failures (refused, timed out) are unavailable.
class api_client {
public:
  explicit api_client(client_options options);
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  result<std::string> create_project(std::string_view body_json);
  result<std::string> get_project(std::string_view id);
  /// `idempotency_key` "" sends none.
  result<std::string> create_task(std::string_view body_json, std::string_view idempotency_key = {});
  result<std::string> get_task(std::string_view id);
  result<std::string> list_tasks(const task_query& query);
  result<std::string> cancel_task(std::string_view id);
  result<std::string> task_events(std::string_view id);
  result<std::string> events_after(std::int64_t after, std::size_t limit = 100);
  result<std::string> task_logs(std::string_view id, std::uint64_t from = 0);
  result<std::string> list_nodes();
  result<std::string> create_api_key(std::string_view name, std::string_view role);

  /// Follows a task's log over Server-Sent Events from `from`: `on_chunk` gets the JSON
  /// text of each chunk ({"offset","stream","text"}); `on_tick` runs about once a second
  /// while waiting (for a spinner). Either returning false stops following. A stream that
  /// breaks, or a server that cannot be reached or answers 503, is retried with backoff and
  /// resumed from the last offset seen (Last-Event-ID), so no chunk is delivered twice;
  /// `client_options::on_connection_lost` is told when that starts. Returns the offset
  /// after the last chunk once the log ended or a callback stopped it. Errors: unavailable
  /// once no connection succeeded for `reconnect_limit_ms`; the API's errors otherwise.
  result<std::uint64_t> follow_task_logs(std::string_view id, std::uint64_t from,
                                         std::function<bool(const std::string& chunk_json)> on_chunk,
                                         std::function<bool()> on_tick = {});

  /// Any request; the status is not interpreted. Errors: unavailable (transport).
  result<client_response> request(std::string_view method, std::string_view path, std::string_view body = {},
                                  const std::vector<std::pair<std::string, std::string>>& headers = {});

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

/// The error an API answer stands for (see api_client); ok for 2xx.
result<void> error_of(const client_response& response);

/// Percent-encodes one path segment or query value.
std::string url_encode(std::string_view text);

} // namespace aetherium::http
