#include "adapters/github/github_rest.hpp"

#include <cctype>
#include <thread>

#include <curl/curl.h>

#include "adapters/github/retry_policy.hpp"

namespace aetherium::github {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* out) {
  std::string line{data, size * n};
  auto colon = line.find(':');
  if (colon == std::string::npos)
    return size * n;
  std::string name = line.substr(0, colon);
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto b = line.find_first_not_of(" \t", colon + 1);
  auto e = line.find_last_not_of(" \t\r\n");
  auto value = b == std::string::npos || e < b ? std::string{} : line.substr(b, e - b + 1);
  (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  return size * n;
}

struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

std::optional<std::string> header(const rest_response& r, const char* name) {
  auto it = r.headers.find(name);
  if (it == r.headers.end())
    return std::nullopt;
  return it->second;
}

} // namespace

std::string encode_path(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

github_rest::github_rest(github_options options) : options_(std::move(options)) {
  global_init();
  while (!options_.api_base.empty() && options_.api_base.back() == '/')
    options_.api_base.pop_back();
  if (!options_.time_source)
    options_.time_source = make_system_clock();
  if (options_.max_attempts < 1)
    options_.max_attempts = 1;
  handle_ = curl_easy_init();
}

github_rest::~github_rest() {
  if (handle_)
    curl_easy_cleanup(static_cast<CURL*>(handle_));
}

std::int64_t github_rest::now_ms() const { return options_.time_source->now_us() / 1000; }

rest_response github_rest::attempt(const std::string& method, const std::string& url, const std::string& body,
                                   std::string& transport_error) {
  auto* h = static_cast<CURL*>(handle_);
  curl_easy_reset(h);
  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto add = [&](const std::string& line) { headers.reset(curl_slist_append(headers.release(), line.c_str())); };
  add("Accept: application/vnd.github+json");
  add("X-GitHub-Api-Version: 2022-11-28");
  add("Authorization: Bearer " + options_.token);
  add("Expect:");
  if (!body.empty())
    add("Content-Type: application/json");
  rest_response r;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    transport_error = curl_easy_strerror(rc);
    return rest_response{};
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

result<rest_response> github_rest::call(const std::string& method, const std::string& path, const std::string& body) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!handle_)
    return make_error(errc::internal, "libcurl could not create a handle");
  retry_settings settings{options_.max_attempts, options_.initial_backoff, options_.max_backoff,
                          options_.max_rate_limit_wait};
  auto url = options_.api_base + path;
  for (int n = 1;; ++n) {
    attempt_outcome outcome;
    auto r = attempt(method, url, body, outcome.transport_error);
    outcome.status = r.status;
    outcome.retry_after = header(r, "retry-after");
    outcome.ratelimit_remaining = header(r, "x-ratelimit-remaining");
    outcome.ratelimit_reset = header(r, "x-ratelimit-reset");
    auto step = next_step(settings, outcome, n, now_ms());
    if (step.what == retry_step::kind::accept)
      return r;
    if (step.what == retry_step::kind::give_up)
      return make_error(errc::unavailable, method + " " + path + ": " + step.detail);
    std::this_thread::sleep_for(step.wait);
  }
}

} // namespace aetherium::github
