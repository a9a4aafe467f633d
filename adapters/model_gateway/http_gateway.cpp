#include "adapters/model_gateway/http_gateway.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/model_gateway/usage_reader.hpp"
#include "events/logger.hpp"

namespace aetherium::model_gateway {

namespace {

using nlohmann::json;

constexpr std::size_t max_head_bytes = 64 * 1024;
constexpr int read_timeout_ms = 30'000;

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// One request as the agent sent it.
struct request {
  std::string method;
  std::string target; ///< Path and query.
  std::vector<std::pair<std::string, std::string>> headers; ///< Names lowercased.
  std::string body;
};

/// Reads from a socket with a timeout; keeps what was read past the point asked for.
class reader {
public:
  explicit reader(int fd) : fd_(fd) {}

  /// Reads until `delim` is buffered; the text before it (consumed with delim). False on
  /// EOF, timeout, error or more than `cap` bytes without it.
  bool until(std::string_view delim, std::size_t cap, std::string& out) {
    for (;;) {
      if (auto at = buf_.find(delim); at != std::string::npos) {
        out = buf_.substr(0, at);
        buf_.erase(0, at + delim.size());
        return true;
      }
      if (buf_.size() > cap || !fill())
        return false;
    }
  }

  bool exactly(std::size_t n, std::string& out) {
    while (buf_.size() < n)
      if (!fill())
        return false;
    out.append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

private:
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, read_timeout_ms) <= 0)
      return false;
    char chunk[16384];
    auto n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0)
      return false;
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buf_;
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads one request. Errors carry the status to answer with.
result<request> read_request(int fd, std::size_t max_body) {
  reader in{fd};
  std::string head;
  if (!in.until("\r\n\r\n", max_head_bytes, head))
    return make_error(errc::invalid_argument, "400 no complete request head");
  request r;
  auto line_end = head.find("\r\n");
  auto line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1 || line.compare(sp2 + 1, 7, "HTTP/1.") != 0)
    return make_error(errc::invalid_argument, "400 malformed request line");
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t content_length = 0;
  bool chunked = false;
  bool expect_continue = false;
  for (auto at = line_end; at != std::string::npos && at < head.size();) {
    auto next = head.find("\r\n", at + 2);
    auto h = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    at = next;
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return make_error(errc::invalid_argument, "400 malformed header");
    auto name = lower(h.substr(0, colon));
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (name == "content-length") {
      if (value.empty() || value.size() > 12 || value.find_first_not_of("0123456789") != std::string::npos)
        return make_error(errc::invalid_argument, "400 bad content-length");
      content_length = std::stoull(value);
    } else if (name == "transfer-encoding") {
      chunked = lower(value).find("chunked") != std::string::npos;
    } else if (name == "expect") {
      expect_continue = lower(value) == "100-continue";
    }
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  if (content_length > max_body)
    return make_error(errc::invalid_argument, "413 the request body is larger than the gateway takes");
  if (expect_continue && !write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
    return make_error(errc::unavailable, "the agent closed the connection");
  if (chunked) {
    for (;;) {
      std::string size_line;
      if (!in.until("\r\n", 64, size_line))
        return make_error(errc::invalid_argument, "400 malformed chunked body");
      std::size_t size = 0;
      try {
        size = std::stoull(size_line.substr(0, size_line.find(';')), nullptr, 16);
      } catch (const std::exception&) {
        return make_error(errc::invalid_argument, "400 malformed chunk size");
      }
      if (r.body.size() + size > max_body)
        return make_error(errc::invalid_argument, "413 the request body is larger than the gateway takes");
      std::string crlf;
      if (size == 0) {
        std::string trailer;
        while (in.until("\r\n", max_head_bytes, trailer) && !trailer.empty()) {
        }
        break;
      }
      if (!in.exactly(size, r.body) || !in.exactly(2, crlf) || crlf != "\r\n")
        return make_error(errc::invalid_argument, "400 malformed chunked body");
    }
  } else if (content_length > 0 && !in.exactly(content_length, r.body)) {
    return make_error(errc::invalid_argument, "400 the body ended early");
  }
  return r;
}

/// An error body in the provider's own format, so the agent's CLI shows the reason.
std::string error_body(const std::string& provider, int status, const std::string& message) {
  if (provider == "anthropic")
    return json{{"type", "error"}, {"error", {{"type", status == 403 ? "permission_error" : "api_error"},
                                                {"message", message}}}}.dump();
  if (provider == "gemini")
    return json{{"error", {{"code", status}, {"message", message},
                           {"status", status == 403 ? "PERMISSION_DENIED" : "UNAVAILABLE"}}}}.dump();
  return json{{"error", {{"message", message}, {"type", status == 403 ? "permission_denied" : "gateway_error"},
                         {"code", nullptr}}}}.dump();
}

void answer(int fd, int status, const std::string& provider, const std::string& message) {
  auto body = error_body(provider, status, message);
  write_all(fd, "HTTP/1.1 " + std::to_string(status) + " Aetherium\r\ncontent-type: application/json\r\n"
                  "content-length: " + std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body);
}

/// Headers that belong to one hop, or that the gateway sets itself.
bool hop_header(const std::string& name) {
  static const char* const names[] = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                                      "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                                      "expect", "accept-encoding"};
  for (auto n : names)
    if (name == n)
      return true;
  return false;
}

/// Headers that carry a key: never passed on from the sandbox.
bool key_header(const std::string& name) {
  return name == "authorization" || name == "x-api-key" || name == "x-goog-api-key" || name == "api-key";
}

/// Drops a `key=` parameter (Gemini's key in the query) from a target.
std::string without_key_param(const std::string& target) {
  auto q = target.find('?');
  if (q == std::string::npos)
    return target;
  std::string out = target.substr(0, q);
  std::string sep = "?";
  std::size_t at = q + 1;
  while (at <= target.size()) {
    auto amp = target.find('&', at);
    auto param = target.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    if (!param.empty() && param.rfind("key=", 0) != 0) {
      out += sep + param;
      sep = "&";
    }
    if (amp == std::string::npos)
      break;
    at = amp + 1;
  }
  return out;
}

/// The model a call asks for, when it is a call that is billed; "" otherwise.
std::string billed_model(const std::string& provider, const request& r, std::string& error) {
  auto path = r.target.substr(0, r.target.find('?'));
  if (r.method != "POST")
    return "";
  if (provider == "gemini") {
    auto colon = path.rfind(':');
    if (colon == std::string::npos)
      return "";
    auto verb = path.substr(colon + 1);
    if (verb != "generateContent" && verb != "streamGenerateContent")
      return "";
    auto models = path.rfind("/models/", colon);
    if (models == std::string::npos) {
      error = "no model in the path";
      return "";
    }
    return path.substr(models + 8, colon - models - 8);
  }
  bool billed = provider == "anthropic" ? ends_with(path, "/messages")
                                        : ends_with(path, "/responses") || ends_with(path, "/chat/completions");
  if (!billed)
    return "";
  auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
    error = "the request names no model";
    return "";
  }
  return body["model"].get<std::string>();
}

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out(n, '0');
  for (auto& c : out)
    c = digits[rng() & 15];
  return out;
}

class session final : public models::gateway_session {
public:
  session(const gateway_options& options, models::session_spec spec, std::string path, int listen_fd)
    : options_(options), spec_(std::move(spec)), path_(std::move(path)), listen_fd_(listen_fd),
      spent_(spec_.spent_microcents) {
    if (spec_.budget_microcents != 0 && spent_ >= spec_.budget_microcents)
      exhausted_ = "the task's cost budget was spent before this run";
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~session() override {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (int fd : open_fds_)
        ::shutdown(fd, SHUT_RDWR);
      done_.wait(lock, [this] { return active_ == 0; });
    }
    for (auto& [id, t] : workers_)
      t.join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }

  const std::string& socket_path() const override { return path_; }

  std::uint64_t spent_microcents() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return spent_;
  }

  std::string exhausted() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return exhausted_;
  }

private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED)
          continue;
        return; // shut down
      }
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return active_ < options_.max_connections || stopping_; });
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++active_;
      open_fds_.push_back(fd);
      // Threads whose call ended are joined here, so a long run keeps no stacks of old calls.
      for (auto id : std::exchange(ended_, {})) {
        workers_.at(id).join();
        workers_.erase(id);
      }
      auto id = next_worker_++;
      workers_.emplace(id, std::thread([this, fd, id] {
        serve(fd);
        std::lock_guard<std::mutex> guard(mutex_);
        open_fds_.remove(fd);
        ::close(fd);
        --active_;
        ended_.push_back(id);
        done_.notify_all();
      }));
    }
  }

  void serve(int fd) {
    auto req = read_request(fd, options_.max_request_bytes);
    if (!req) {
      auto& d = req.err().detail;
      if (req.err().code == errc::invalid_argument)
        answer(fd, std::stoi(d.substr(0, 3)), "", d.substr(4));
      return;
    }
    auto& r = *req;
    auto slash = r.target.find('/', 1);
    auto provider = r.target.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    auto rest = slash == std::string::npos ? std::string{"/"} : r.target.substr(slash);
    models::provider kind{};
    if (!models::parse_provider(provider, kind)) {
      answer(fd, 404, "", "the gateway serves /anthropic/, /openai/ and /gemini/");
      return;
    }
    if (std::find(spec_.providers.begin(), spec_.providers.end(), provider) == spec_.providers.end()) {
      answer(fd, 403, provider, "this task may not use " + provider + " (it is not in the task's model_providers)");
      return;
    }
    auto upstream = options_.upstreams.find(provider);
    auto key = spec_.keys.find(provider);
    if (upstream == options_.upstreams.end() || key == spec_.keys.end()) {
      answer(fd, 403, provider, "no upstream or key is configured for " + provider);
      return;
    }
    request forwarded{r.method, rest, r.headers, std::move(r.body)};
    std::string model_error;
    auto model = billed_model(provider, forwarded, model_error);
    if (!model_error.empty()) {
      answer(fd, 400, provider, "the gateway cannot tell the model of this call: " + model_error);
      return;
    }
    // Under a cost budget, billed calls go one at a time: each is checked only once the one
    // before it is accounted, so calls sent together cannot all pass the check and spend
    // past the budget.
    std::unique_lock<std::mutex> one_at_a_time(billed_calls_, std::defer_lock);
    if (spec_.budget_microcents != 0 && !model.empty()) {
      one_at_a_time.lock();
      if (stopping_)
        return;
    }
    std::optional<models::price> price;
    if (!model.empty()) {
      price = options_.prices.find(kind, model);
      std::lock_guard<std::mutex> lock(mutex_);
      if (!exhausted_.empty()) {
        answer(fd, 403, provider, "Aetherium refused the call: " + exhausted_);
        return;
      }
      if (spec_.budget_microcents != 0 && !price) {
        answer(fd, 403, provider, "Aetherium refused the call: no price is configured for model " + model
                                    + ", and the task has a cost budget");
        return;
      }
    }
    forward(fd, kind, provider, upstream->second, key->second, forwarded, model, price);
  }

  struct transfer {
    session* self;
    int fd;
    long status = 0;
    std::vector<std::string> headers;
    bool head_sent = false;
    bool client_gone = false;
    bool event_stream = false;
    std::optional<usage_reader> usage;
    bool billed = false;
    models::provider kind{};
  };

  static bool send_head(transfer& t) {
    std::string head = "HTTP/1.1 " + std::to_string(t.status) + " Upstream\r\n";
    for (auto& h : t.headers)
      head += h + "\r\n";
    head += "transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    t.head_sent = true;
    return write_all(t.fd, head);
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto& t = *static_cast<transfer*>(user);
    std::string line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      t.headers.clear();
      auto sp = line.find(' ');
      t.status = sp == std::string::npos ? 502 : std::atol(line.c_str() + sp + 1);
      return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos)
      return size * n;
    auto name = lower(line.substr(0, colon));
    if (hop_header(name))
      return size * n;
    if (name == "content-type" && lower(line).find("text/event-stream") != std::string::npos)
      t.event_stream = true;
    t.headers.push_back(line);
    return size * n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto& t = *static_cast<transfer*>(user);
    auto bytes = size * n;
    if (!t.head_sent) {
      if (t.billed && t.status >= 200 && t.status < 300)
        t.usage.emplace(t.kind, t.event_stream);
      if (!send_head(t)) {
        t.client_gone = true;
        return 0;
      }
    }
    if (t.usage)
      t.usage->feed(std::string_view(data, bytes));
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", bytes);
    if (!write_all(t.fd, size_line) || !write_all(t.fd, std::string_view(data, bytes)) || !write_all(t.fd, "\r\n")) {
      t.client_gone = true;
      return 0;
    }
    return bytes;
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<transfer*>(user)->self->stopping_ ? 1 : 0;
  }

  void forward(int fd, models::provider kind, const std::string& provider, const std::string& upstream,
               const std::string& key, const request& r, const std::string& model,
               const std::optional<models::price>& price) {
    std::unique_ptr<CURL, void (*)(CURL*)> curl{curl_easy_init(), curl_easy_cleanup};
    if (!curl) {
      answer(fd, 502, provider, "the gateway could not start a call");
      return;
    }
    auto url = upstream + (provider == "gemini" ? without_key_param(r.target) : r.target);
    curl_slist* list = nullptr;
    for (auto& [name, value] : r.headers)
      if (!hop_header(name) && !key_header(name))
        list = curl_slist_append(list, (name + ": " + value).c_str());
    if (provider == "anthropic")
      list = curl_slist_append(list, ("x-api-key: " + key).c_str());
    else if (provider == "openai")
      list = curl_slist_append(list, ("authorization: Bearer " + key).c_str());
    else
      list = curl_slist_append(list, ("x-goog-api-key: " + key).c_str());
    list = curl_slist_append(list, "accept-encoding: identity");
    list = curl_slist_append(list, "expect:");
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers{list, curl_slist_free_all};

    transfer t{this, fd};
    t.billed = !model.empty();
    t.kind = kind;
    auto* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 600L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (r.method == "POST" || !r.body.empty()) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    if (r.method != "GET" && r.method != "POST")
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &session::on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &session::on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &session::on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    auto rc = curl_easy_perform(c);

    bool answered_ok = rc == CURLE_OK && t.status >= 200 && t.status < 300;
    if (t.billed && (answered_ok || t.head_sent))
      account(provider, model, price, t, answered_ok);
    if (rc != CURLE_OK && !t.head_sent) {
      log(log_level::warn, "model gateway: a call failed",
          {{"task_id", spec_.task}, {"provider", provider}, {"error", curl_easy_strerror(rc)}});
      answer(fd, 502, provider, std::string{"the gateway could not reach "} + provider + ": " + curl_easy_strerror(rc));
      return;
    }
    if (!t.head_sent && !send_head(t))
      return;
    if (!t.client_gone)
      write_all(fd, "0\r\n\r\n");
  }

  /// Records one billed call whose answer began: its usage, or that it could not be read.
  void account(const std::string& provider, const std::string& model, const std::optional<models::price>& price,
               transfer& t, bool answered_ok) {
    models::call_record rec;
    rec.provider = provider;
    rec.model = model;
    std::optional<models::usage> u;
    if (t.usage)
      u = t.usage->finish();
    bool succeeded = t.status >= 200 && t.status < 300;
    if (!succeeded)
      return; // the provider refused it: nothing was billed
    if (u) {
      if (!u->model.empty())
        rec.model = u->model;
      rec.input_tokens = u->input_tokens;
      rec.output_tokens = u->output_tokens;
      auto p = price;
      if (!u->model.empty() && u->model != model)
        if (auto exact = options_.prices.find(t.kind, u->model))
          p = exact;
      rec.priced = p.has_value();
      if (p)
        rec.cost_microcents = models::cost_microcents(*u, *p);
    } else {
      rec.read = false;
      rec.priced = price.has_value();
    }
    (void)answered_ok;
    std::string why;
    auto recorded = spec_.on_call ? spec_.on_call(rec) : result<void>{};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      spent_ = spent_ + rec.cost_microcents < spent_ ? UINT64_MAX : spent_ + rec.cost_microcents;
      if (!exhausted_.empty())
        return;
      if (!recorded)
        why = "its model spend could not be recorded (" + recorded.err().detail + ")";
      else if (spec_.budget_microcents != 0 && !rec.read)
        why = "the usage of a " + provider + " answer could not be read, so its spend is unknown";
      else if (spec_.budget_microcents != 0 && spent_ >= spec_.budget_microcents)
        why = "its model spend reached the cost budget of " + std::to_string(spec_.budget_microcents / 1'000'000)
              + " cents";
      if (why.empty())
        return;
      exhausted_ = why;
    }
    log(log_level::info, "model gateway: calls refused from now on", {{"task_id", spec_.task}, {"why", why}});
    if (spec_.on_exhausted)
      spec_.on_exhausted(why);
  }

  const gateway_options& options_;
  models::session_spec spec_;
  std::string path_;
  int listen_fd_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::mutex billed_calls_; ///< Held through a billed call under a cost budget.
  std::condition_variable done_;
  std::size_t active_ = 0;
  std::list<int> open_fds_;
  std::map<std::uint64_t, std::thread> workers_;
  std::vector<std::uint64_t> ended_; ///< Workers whose call is over, to be joined.
  std::uint64_t next_worker_ = 0;
  std::uint64_t spent_ = 0;
  std::string exhausted_;
};

class http_gateway final : public models::model_gateway {
public:
  explicit http_gateway(gateway_options options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  result<std::unique_ptr<models::gateway_session>> open(models::session_spec spec) override {
    for (auto& p : spec.providers) {
      models::provider kind{};
      if (!models::parse_provider(p, kind))
        return make_error(errc::invalid_argument, "unknown model provider " + p, "model_providers");
      if (spec.keys.count(p) == 0 || spec.keys[p].empty())
        return make_error(errc::invalid_argument, std::string{"secret "} + models::key_secret(kind)
                                                    + " is not configured for the tenant", "model_providers");
      if (options_.upstreams.count(p) == 0)
        return make_error(errc::invalid_argument, "no upstream is configured for " + p, "model_providers");
    }
    if (::mkdir(options_.socket_dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(errc::unavailable, "cannot create " + options_.socket_dir + ": " + std::strerror(errno));
    auto path = options_.socket_dir + "/" + random_hex(16) + ".sock";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
      return make_error(errc::unavailable, "the gateway's socket path is too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return make_error(errc::unavailable, std::string{"socket: "} + std::strerror(errno));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::chmod(path.c_str(), 0600) != 0
        || ::listen(fd, 64) != 0) {
      auto why = std::string{std::strerror(errno)};
      ::close(fd);
      ::unlink(path.c_str());
      return make_error(errc::unavailable, "cannot serve " + path + ": " + why);
    }
    return std::unique_ptr<models::gateway_session>(new session(options_, std::move(spec), path, fd));
  }

private:
  gateway_options options_;
};

} // namespace

std::map<std::string, std::string> default_upstreams() {
  return {{"anthropic", "https://api.anthropic.com"},
          {"openai", "https://api.openai.com"},
          {"gemini", "https://generativelanguage.googleapis.com"}};
}

result<void> parse_upstreams(std::string_view text, std::map<std::string, std::string>& into) {
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    auto entry = std::string(text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    at = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (entry.empty())
      continue;
    auto eq = entry.find('=');
    models::provider kind{};
    if (eq == std::string::npos || !models::parse_provider(entry.substr(0, eq), kind))
      return make_error(errc::invalid_argument, "'" + entry + "' is not NAME=URL with NAME one of anthropic, openai, gemini",
                        "model-upstream");
    auto url = entry.substr(eq + 1);
    while (!url.empty() && url.back() == '/')
      url.pop_back();
    if ((url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) || url.size() <= 8
        || url.find_first_of(" \t\r\n") != std::string::npos)
      return make_error(errc::invalid_argument, "'" + entry + "': the URL must start with http:// or https://",
                        "model-upstream");
    into[entry.substr(0, eq)] = url;
  }
  return {};
}

std::shared_ptr<models::model_gateway> make_http_model_gateway(gateway_options options) {
  return std::make_shared<http_gateway>(std::move(options));
}

} // namespace aetherium::model_gateway
