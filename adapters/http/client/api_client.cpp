#include "adapters/http/client/api_client.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

namespace aetherium::http {

namespace {

using json = nlohmann::json;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

errc code_of(long status) {
  switch (status) {
    case 400: case 413: return errc::invalid_argument;
    case 401: return errc::unauthorized;
    case 403: return errc::forbidden;
    case 404: return errc::not_found;
    case 409: return errc::conflict;
    case 422: return errc::invalid_transition;
    case 429: return errc::quota_exceeded;
    case 503: return errc::unavailable;
    default: return errc::internal;
  }
}

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* out) {
  std::string_view line{data, size * n};
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name{line.substr(0, colon)};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<std::vector<std::pair<std::string, std::string>>*>(out)->emplace_back(std::move(name), std::string{value});
  }
  return size * n;
}

struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using slist = std::unique_ptr<curl_slist, slist_deleter>;

/// State of one Server-Sent Events transfer.
struct sse_state {
  std::function<bool(const std::string&)> on_chunk;
  std::function<bool()> on_tick;
  std::string buffer;
  std::uint64_t next_offset = 0;
  bool ended = false;
  bool stopped = false;
  bool connected = false; ///< The last attempt got the stream's headers.
  std::chrono::steady_clock::time_point last_tick = std::chrono::steady_clock::now();

  /// Handles one complete event (the text between blank lines).
  void event(std::string_view text) {
    std::string type = "message", data, id;
    while (!text.empty()) {
      auto nl = text.find('\n');
      auto line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      auto field = [&](std::string_view name) -> std::optional<std::string> {
        if (line.substr(0, name.size() + 1) != std::string{name} + ":")
          return std::nullopt;
        auto v = line.substr(name.size() + 1);
        if (!v.empty() && v.front() == ' ')
          v.remove_prefix(1);
        return std::string{v};
      };
      if (auto v = field("event")) type = *v;
      else if (auto v = field("data")) data += *v;
      else if (auto v = field("id")) id = *v;
    }
    if (type == "chunk") {
      if (!id.empty())
        next_offset = std::stoull(id);
      if (on_chunk && !on_chunk(data))
        stopped = true;
    } else if (type == "end") {
      ended = true;
    }
  }

  static size_t write(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<sse_state*>(self_ptr);
    self->buffer.append(data, size * n);
    for (auto end = self->buffer.find("\n\n"); end != std::string::npos; end = self->buffer.find("\n\n")) {
      auto text = self->buffer.substr(0, end);
      self->buffer.erase(0, end + 2);
      self->event(text);
      if (self->stopped || self->ended)
        return 0; // ends the transfer
    }
    return size * n;
  }

  static int progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* self = static_cast<sse_state*>(self_ptr);
    auto now = std::chrono::steady_clock::now();
    if (!self->on_tick || now - self->last_tick < std::chrono::seconds(1))
      return 0;
    self->last_tick = now;
    if (!self->on_tick()) {
      self->stopped = true;
      return 1;
    }
    return 0;
  }
};

} // namespace

std::string client_response::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name)
      return v;
  return {};
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

result<void> error_of(const client_response& r) {
  if (r.status >= 200 && r.status < 300)
    return {};
  auto body = json::parse(r.body, nullptr, false);
  std::string message = "HTTP " + std::to_string(r.status), field;
  if (body.is_object()) {
    if (body.contains("message") && body["message"].is_string())
      message = body["message"].get<std::string>();
    if (body.contains("field") && body["field"].is_string())
      field = body["field"].get<std::string>();
  }
  if (r.status == 429 && !r.header("retry-after").empty())
    message += " (retry after " + r.header("retry-after") + " s)";
  return make_error(code_of(r.status), message, field);
}

class api_client::impl {
public:
  explicit impl(client_options o) : options_(std::move(o)) {
    global_init();
    while (!options_.base_url.empty() && options_.base_url.back() == '/')
      options_.base_url.pop_back();
    handle_ = curl_easy_init();
  }
  ~impl() {
    if (handle_)
      curl_easy_cleanup(handle_);
  }

  result<client_response> request(std::string_view method, std::string_view path, std::string_view body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
    if (!handle_)
      return make_error(errc::internal, "curl_easy_init failed");
    curl_easy_reset(handle_);
    client_response out;
    std::string url = options_.base_url + std::string{path};
    std::string verb{method};
    auto list = header_list(headers, !body.empty());
    curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, verb.c_str());
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &out.body);
    curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &out.headers);
    if (!body.empty() || verb == "POST") {
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    auto rc = curl_easy_perform(handle_);
    if (rc != CURLE_OK)
      return make_error(errc::unavailable, std::string{"cannot reach "} + options_.base_url + ": " + curl_easy_strerror(rc));
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &out.status);
    return out;
  }

  result<std::uint64_t> follow(const std::string& path, std::uint64_t from, sse_state& state) {
    using clock = std::chrono::steady_clock;
    state.next_offset = from;
    std::optional<clock::time_point> lost_since;
    auto delay = std::chrono::milliseconds(options_.reconnect_delay_ms);
    const auto limit = std::chrono::milliseconds(options_.reconnect_limit_ms);
    for (;;) {
      state.connected = false;
      auto r = stream_once(path, state);
      if (state.ended || state.stopped)
        return state.next_offset;
      if (!r && r.err().code != errc::unavailable)
        return r.err();
      if (state.connected) { // the server was there: a new outage starts now
        lost_since.reset();
        delay = std::chrono::milliseconds(options_.reconnect_delay_ms);
      }
      auto now = clock::now();
      if (!lost_since) {
        lost_since = now;
        if (options_.on_connection_lost)
          options_.on_connection_lost(r ? std::string{"the log stream ended early"} : r.err().detail);
      }
      auto left = *lost_since + limit - now;
      if (left <= clock::duration::zero())
        return make_error(errc::unavailable, "gave up following after " + std::to_string(options_.reconnect_limit_ms / 1000)
                                                 + " s without a connection: " + (r ? std::string{"the stream ended early"} : r.err().detail));
      std::this_thread::sleep_for(std::min<clock::duration>(delay, left));
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
  }

private:
  slist header_list(const std::vector<std::pair<std::string, std::string>>& headers, bool json_body) {
    slist list{nullptr};
    auto add = [&](const std::string& line) { list.reset(curl_slist_append(list.release(), line.c_str())); };
    if (!options_.token.empty())
      add("Authorization: Bearer " + options_.token);
    if (json_body)
      add("Content-Type: application/json");
    add("Accept: application/json");
    add("Expect:"); // no 100-continue round trip before large bodies
    for (auto& [k, v] : headers)
      add(k + ": " + v);
    return list;
  }

  result<void> stream_once(const std::string& path, sse_state& state) {
    CURL* h = curl_easy_init();
    if (!h)
      return make_error(errc::internal, "curl_easy_init failed");
    std::unique_ptr<CURL, void (*)(CURL*)> guard{h, curl_easy_cleanup};
    auto list = header_list({{"Accept", "text/event-stream"}, {"Last-Event-ID", std::to_string(state.next_offset)}}, false);
    std::string url = options_.base_url + path;
    state.buffer.clear();
    client_response head;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_state::write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head.headers);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sse_state::progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &state);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
    auto rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &head.status);
    state.connected = head.status == 200;
    if (head.status != 0 && head.status != 200) {
      head.body = state.buffer;
      return error_of(head);
    }
    if (rc != CURLE_OK && !state.ended && !state.stopped)
      return make_error(errc::unavailable, std::string{"the log stream broke: "} + curl_easy_strerror(rc));
    return {};
  }

  client_options options_;
  CURL* handle_ = nullptr;
};

api_client::api_client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
api_client::~api_client() = default;

result<client_response> api_client::request(std::string_view method, std::string_view path, std::string_view body,
                                            const std::vector<std::pair<std::string, std::string>>& headers) {
  return impl_->request(method, path, body, headers);
}

namespace {
/// The body of a 2xx answer, the mirrored error otherwise.
result<std::string> body_of(result<client_response> r) {
  if (!r)
    return r.err();
  if (auto ok = error_of(*r); !ok)
    return ok.err();
  return std::move(r->body);
}
} // namespace

result<std::string> api_client::create_project(std::string_view body) {
  return body_of(request("POST", "/v1/projects", body));
}
result<std::string> api_client::get_project(std::string_view id) {
  return body_of(request("GET", "/v1/projects/" + url_encode(id)));
}
result<std::string> api_client::create_task(std::string_view body, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!key.empty())
    headers.emplace_back("Idempotency-Key", std::string{key});
  return body_of(request("POST", "/v1/tasks", body, headers));
}
result<std::string> api_client::get_task(std::string_view id) {
  return body_of(request("GET", "/v1/tasks/" + url_encode(id)));
}
result<std::string> api_client::list_tasks(const task_query& q) {
  std::string query;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty())
      query += (query.empty() ? "?" : "&") + std::string{name} + "=" + url_encode(v);
  };
  add("project", q.project);
  add("status", q.status);
  add("limit", q.limit ? std::to_string(q.limit) : std::string{});
  add("cursor", q.cursor);
  return body_of(request("GET", "/v1/tasks" + query));
}
result<std::string> api_client::cancel_task(std::string_view id) {
  return body_of(request("DELETE", "/v1/tasks/" + url_encode(id)));
}
result<std::string> api_client::task_events(std::string_view id) {
  return body_of(request("GET", "/v1/tasks/" + url_encode(id) + "/events"));
}
result<std::string> api_client::events_after(std::int64_t after, std::size_t limit) {
  return body_of(request("GET", "/v1/events?after=" + std::to_string(after) + "&limit=" + std::to_string(limit)));
}
result<std::string> api_client::task_logs(std::string_view id, std::uint64_t from) {
  return body_of(request("GET", "/v1/tasks/" + url_encode(id) + "/logs?from=" + std::to_string(from)));
}
result<std::string> api_client::list_nodes() { return body_of(request("GET", "/v1/nodes")); }
result<std::string> api_client::create_api_key(std::string_view name, std::string_view role) {
  return body_of(request("POST", "/v1/api-keys", json{{"name", name}, {"role", role}}.dump()));
}

result<std::uint64_t> api_client::follow_task_logs(std::string_view id, std::uint64_t from,
                                                   std::function<bool(const std::string&)> on_chunk,
                                                   std::function<bool()> on_tick) {
  sse_state state;
  state.on_chunk = std::move(on_chunk);
  state.on_tick = std::move(on_tick);
  return impl_->follow("/v1/tasks/" + url_encode(id) + "/logs?follow=1", from, state);
}

} // namespace aetherium::http
