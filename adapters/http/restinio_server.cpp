// The only translation unit that includes RESTinio (it is the heaviest header set of the
// build): adapts RESTinio requests to `exchange`, chunked responses to `event_stream`, and
// runs the reactor threads. Everything else of the API is library-independent.
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <restinio/all.hpp>

#include "adapters/http/api_dispatcher.hpp"
#include "adapters/http/json_codec.hpp"

namespace aetherium::http {

namespace {

namespace asio = restinio::asio_ns;
using server_t = restinio::http_server_t<restinio::default_traits_t>;

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

restinio::http_status_line_t status_line(int status) {
  return restinio::http_status_line_t{restinio::http_status_code_t{static_cast<std::uint16_t>(status)}, reason(status)};
}

class restinio_stream;

/// What outlives the server object: the reactor, the RESTinio server, the live streams.
/// Exchanges and streams hold it, so the io_context outlives every connection handle.
struct server_state {
  explicit server_state(http_server_options o) : options(std::move(o)) {}

  void add(std::uint64_t id, const std::shared_ptr<restinio_stream>& s) {
    std::lock_guard<std::mutex> guard{mtx};
    streams[id] = s;
  }
  void remove(std::uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    streams.erase(id);
  }
  void close_streams();

  http_server_options options;
  asio::io_context io;
  std::unique_ptr<server_t> server;
  std::mutex mtx;
  std::map<std::uint64_t, std::weak_ptr<restinio_stream>> streams;
  std::atomic<std::uint64_t> next_stream{0};
};

/// A chunked response body. Its mutex is recursive because a failed write can report
/// back inline, inside send().
class restinio_stream : public event_stream, public std::enable_shared_from_this<restinio_stream> {
public:
  using builder = restinio::response_builder_t<restinio::chunked_output_t>;

  restinio_stream(std::shared_ptr<server_state> state, builder resp)
    : state_(std::move(state)), resp_(std::move(resp)), heartbeat_(state_->io), id_(++state_->next_stream) {}

  ~restinio_stream() override { state_->remove(id_); }

  void begin() {
    state_->add(id_, shared_from_this());
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    flush(0);
    arm_heartbeat();
  }

  bool send(std::string text) override {
    std::unique_lock<std::recursive_mutex> lock{mtx_};
    if (closed_)
      return false;
    if (pending_ + text.size() > state_->options.sse_max_pending_bytes) {
      lock.unlock();
      close();
      return false;
    }
    auto n = text.size();
    pending_ += n;
    resp_.append_chunk(std::move(text));
    flush(n);
    return !closed_;
  }

  void finish() override { close(); }

  void on_close(std::function<void()> fn) override {
    std::unique_lock<std::recursive_mutex> lock{mtx_};
    if (!closed_) {
      on_close_ = std::move(fn);
      return;
    }
    lock.unlock();
    fn();
  }

  /// Ends the response after what is queued and tells the owner, once.
  void close() {
    std::function<void()> fn;
    {
      std::lock_guard<std::recursive_mutex> guard{mtx_};
      if (closed_)
        return;
      closed_ = true;
      heartbeat_.cancel();
      try {
        resp_.done();
      } catch (const std::exception&) {
        // The connection is already gone: there is nobody left to tell.
      }
      fn = std::move(on_close_);
    }
    state_->remove(id_);
    if (fn)
      fn();
  }

private:
  /// Caller holds mtx_.
  void flush(std::size_t n) {
    std::weak_ptr<restinio_stream> weak = shared_from_this();
    resp_.flush([weak, n](const asio::error_code& ec) {
      if (auto self = weak.lock())
        self->written(ec, n);
    });
  }

  void written(const asio::error_code& ec, std::size_t n) {
    {
      std::lock_guard<std::recursive_mutex> guard{mtx_};
      pending_ -= std::min(pending_, n);
    }
    if (ec)
      close();
  }

  /// Caller holds mtx_. Idle streams get a comment line, which also finds dead clients.
  void arm_heartbeat() {
    heartbeat_.expires_after(state_->options.sse_heartbeat);
    std::weak_ptr<restinio_stream> weak = shared_from_this();
    heartbeat_.async_wait([weak](const asio::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self)
        return;
      std::lock_guard<std::recursive_mutex> guard{self->mtx_};
      if (self->closed_)
        return;
      self->resp_.append_chunk(std::string{": keep-alive\n\n"});
      self->flush(0);
      self->arm_heartbeat();
    });
  }

  std::shared_ptr<server_state> state_;
  builder resp_;
  asio::steady_timer heartbeat_;
  std::uint64_t id_;
  std::recursive_mutex mtx_;
  bool closed_ = false;
  std::size_t pending_ = 0;
  std::function<void()> on_close_;
};

void server_state::close_streams() {
  std::vector<std::shared_ptr<restinio_stream>> live;
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& [id, weak] : streams)
      if (auto s = weak.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->close();
}

/// One request: answered once, by reply() or start_stream(); 503 when the core does not
/// answer by the deadline, 500 when it drops the request without answering.
class restinio_exchange : public exchange, public std::enable_shared_from_this<restinio_exchange> {
public:
  restinio_exchange(std::shared_ptr<server_state> state, restinio::request_handle_t req, http_request request)
    : state_(std::move(state)), req_(std::move(req)), request_(std::move(request)) {}

  ~restinio_exchange() override {
    if (!answered_.load())
      send(error_response(500, "internal", "the request was dropped without an answer"));
  }

  const http_request& request() const override { return request_; }

  void reply(http_response response) override {
    if (answered_.exchange(true))
      return;
    cancel_deadline();
    send(std::move(response));
  }

  std::shared_ptr<event_stream> start_stream(http_response head) override {
    if (answered_.exchange(true))
      return nullptr;
    cancel_deadline();
    auto resp = req_->create_response<restinio::chunked_output_t>(status_line(head.status));
    resp.append_header(restinio::http_field::content_type, head.content_type);
    for (auto& [name, value] : head.headers)
      resp.append_header(name, value);
    auto stream = std::make_shared<restinio_stream>(state_, std::move(resp));
    stream->begin();
    return stream;
  }

  void defer(std::function<void()> fn) override { asio::post(state_->io, std::move(fn)); }

  /// Arms the answer deadline when the handler did not answer at once.
  void watch() {
    if (answered_.load())
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    deadline_ = std::make_unique<asio::steady_timer>(state_->io, state_->options.answer_deadline);
    std::weak_ptr<restinio_exchange> weak = shared_from_this();
    deadline_->async_wait([weak](const asio::error_code& ec) {
      if (auto self = weak.lock(); self && !ec)
        self->reply(error_response(503, "unavailable", "the control plane did not answer in time"));
    });
  }

private:
  void cancel_deadline() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (deadline_)
      deadline_->cancel();
  }

  void send(http_response r) {
    try {
      auto resp = req_->create_response(status_line(r.status));
      if (!r.content_type.empty())
        resp.append_header(restinio::http_field::content_type, r.content_type);
      for (auto& [name, value] : r.headers)
        resp.append_header(name, value);
      resp.set_body(std::move(r.body));
      resp.done();
    } catch (const std::exception&) {
      // The connection is already gone: there is nobody left to answer.
    }
  }

  std::shared_ptr<server_state> state_;
  restinio::request_handle_t req_;
  http_request request_;
  std::atomic<bool> answered_{false};
  std::mutex mtx_;
  std::unique_ptr<asio::steady_timer> deadline_;
};

http_request convert(const restinio::request_handle_t& req) {
  http_request out;
  out.method = req->header().method().c_str();
  out.path = std::string{req->header().path()};
  out.query = std::string{req->header().query()};
  req->header().for_each_field([&](const restinio::http_header_field_t& f) {
    std::string name = f.name();
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), f.value());
  });
  out.body = req->body();
  return out;
}

class restinio_http_server : public http_server {
public:
  restinio_http_server(http_server_options options, std::shared_ptr<api_dispatcher> dispatcher)
    : state_(std::make_shared<server_state>(std::move(options))), dispatcher_(std::move(dispatcher)) {}

  ~restinio_http_server() override { stop(); }

  result<void> start() override;
  void stop() override;
  std::uint16_t port() const override { return port_.load(); }

private:
  restinio::request_handling_status_t handle(restinio::request_handle_t req) {
    auto ex = std::make_shared<restinio_exchange>(state_, req, convert(req));
    dispatcher_->dispatch(ex);
    ex->watch();
    return restinio::request_accepted();
  }

  std::shared_ptr<server_state> state_;
  std::shared_ptr<api_dispatcher> dispatcher_;
  std::atomic<std::uint16_t> port_{0};
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  bool running_ = false;
};

result<void> restinio_http_server::start() {
  if (running_)
    return make_error(errc::invalid_transition, "the HTTP server is already running");
  auto& o = state_->options;
  auto settings = restinio::server_settings_t<restinio::default_traits_t>{}
                    .address(o.host)
                    .port(o.port)
                    .request_handler([this](restinio::request_handle_t req) { return handle(std::move(req)); })
                    .acceptor_post_bind_hook([this](asio::ip::tcp::acceptor& a) { port_ = a.local_endpoint().port(); })
                    .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}.max_body_size(o.hard_body_bytes))
                    .handle_request_timeout(o.answer_deadline + std::chrono::seconds(5))
                    .read_next_http_message_timelimit(std::chrono::seconds(60))
                    .write_http_response_timelimit(std::chrono::seconds(30));
  try {
    state_->server = std::make_unique<server_t>(restinio::external_io_context(state_->io), std::move(settings));
    state_->server->open_sync();
  } catch (const std::exception& e) {
    state_->server.reset();
    return make_error(errc::unavailable, "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + e.what());
  }
  work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(state_->io.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(o.io_threads, 1); ++i)
    threads_.emplace_back([state = state_] { state->io.run(); });
  running_ = true;
  return {};
}

void restinio_http_server::stop() {
  if (!running_)
    return;
  running_ = false;
  std::promise<void> closed;
  state_->server->close_async([&closed] { closed.set_value(); },
                              [&closed](std::exception_ptr) { closed.set_value(); });
  closed.get_future().wait();
  state_->close_streams();
  work_.reset();
  state_->io.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // Work deferred by the handlers (stopping log subscriptions) runs here, off every callback.
  state_->io.restart();
  state_->io.poll();
}

} // namespace

std::unique_ptr<http_server> make_http_server(http_server_options options,
                                              std::shared_ptr<api::control_plane> control_plane,
                                              std::shared_ptr<authenticator> auth,
                                              std::shared_ptr<api::metrics_registry> metrics,
                                              std::shared_ptr<api::webhook_sink> webhooks) {
  auto dispatcher = std::make_shared<api_dispatcher>(
    api_services{options, std::move(control_plane), std::move(auth), std::move(metrics), std::move(webhooks)});
  return std::make_unique<restinio_http_server>(std::move(options), std::move(dispatcher));
}

result<void> check_can_listen(const std::string& host, std::uint16_t port) {
  if (port == 0)
    return {};
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver{io};
    asio::ip::tcp::endpoint where = resolver.resolve(host, std::to_string(port))->endpoint();
    asio::ip::tcp::acceptor acceptor{io};
    acceptor.open(where.protocol());
    acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true)); // as the server's own acceptor
    acceptor.bind(where);
    acceptor.listen();
  } catch (const std::exception& e) {
    return make_error(errc::unavailable, "cannot listen on " + host + ":" + std::to_string(port) + ": " + e.what(),
                      "listen");
  }
  return {};
}

} // namespace aetherium::http
