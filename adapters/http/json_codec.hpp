#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/http/exchange.hpp"
#include "events/api/api_key_store.hpp"
#include "events/api/control_plane.hpp"
#include "events/notifications/subscription_service.hpp"
#include "events/result.hpp"

namespace aetherium::http {

using json = nlohmann::json;

/// Input of POST /v1/api-keys.
struct create_key_request {
  std::string name;
  api::role role = api::role::viewer;
};

/// Microseconds since the epoch as RFC 3339 UTC with microseconds ("2024-05-01T12:00:00.000000Z").
std::string rfc3339(std::int64_t us);

json to_json(const api::project_view& p);
class json_writer;
/// A task view as JSON text, written directly (the hot path of GET /v1/tasks/{id}).
std::string task_json(const api::task_view& t);
void write_task(json_writer& w, const api::task_view& t);
json to_json(const api::event_view& e);
json to_json(const api::node_view& n);
json to_json(const log_chunk& c);
json to_json(const api::api_key_record& k); ///< Without the hash.
json to_json(const notifications::subscription_state& s); ///< Never the secret (it is not there).
json to_json(const notifications::subscription_delivery_dead_lettered& d);

/// Compact JSON text; invalid UTF-8 (e.g. in task output) becomes U+FFFD instead of failing.
std::string dump(const json& j);

/// Strict request parsing: the body must be one JSON object no deeper than 32 levels,
/// every field of the documented type, no unknown field, every limit of validation.hpp.
/// Errors: invalid_argument with the offending field ("" for malformed JSON).
result<api::create_project_request> parse_create_project(std::string_view body);
result<api::create_task_request> parse_create_task(std::string_view body);
result<create_key_request> parse_create_key(std::string_view body);
result<notifications::subscription_request> parse_create_subscription(std::string_view body);

/// A JSON response.
http_response json_response(int status, const json& body);
/// A response whose body is JSON text already.
http_response json_text_response(int status, std::string body);

/// The HTTP status of an error code (invalid_argument 400, not_found 404, …).
int status_of(errc code) noexcept;

/// {"code","message","field"?} with the status of `err.code`; quota refusals carry
/// Retry-After, unauthorized ones WWW-Authenticate.
http_response error_response(const error& err, std::int64_t retry_after_seconds = 30);

/// An error body with an explicit status and code (413, 405, 429 rate_limited, …).
http_response error_response(int status, std::string code, std::string message, std::string field = {});

} // namespace aetherium::http
