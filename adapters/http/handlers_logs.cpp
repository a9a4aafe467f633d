// GET /v1/tasks/{id}/logs: a page of JSON, or with follow=1 a Server-Sent Events stream
// that replays the log from an offset, follows live output and ends with an "end" event.
#include <mutex>

#include "adapters/http/handlers.hpp"
#include "events/api/validation.hpp"

namespace aetherium::http::handlers {

namespace {

constexpr std::size_t page_bytes = 256 << 10;

/// One "chunk" event: the id is the offset after the chunk, so Last-Event-ID resumes there.
std::string sse_chunk(const log_chunk& c) {
  return "id: " + std::to_string(c.offset + c.text.size()) + "\nevent: chunk\ndata: " + dump(to_json(c)) + "\n\n";
}

/// A follower of one task's log feeding one event stream. Lives until the log ends or the
/// stream closes, whichever comes first; then it stops the subscription.
class sse_session : public std::enable_shared_from_this<sse_session> {
public:
  explicit sse_session(std::shared_ptr<exchange> ex) : ex_(std::move(ex)) {}

  api::log_follower follower() {
    auto self = shared_from_this();
    return api::log_follower{[self](result<void> opened) { self->opened(std::move(opened)); },
                             [self](const log_chunk& c) { self->chunk(c); }, [self] { self->ended(); }};
  }

  /// Keeps the subscription, or stops it at once when the stream already closed.
  void attach(std::unique_ptr<subscription> sub) {
    std::unique_lock<std::recursive_mutex> lock{mtx_};
    if (!closed_) {
      sub_ = std::move(sub);
      return;
    }
    lock.unlock();
    std::shared_ptr<subscription> stopped = std::move(sub);
    ex_->defer([stopped] { stopped->stop(); });
  }

private:
  void opened(result<void> r) {
    if (!r) {
      std::lock_guard<std::recursive_mutex> guard{mtx_};
      closed_ = true;
      return ex_->reply(error_response(r.err()));
    }
    http_response head;
    head.content_type = "text/event-stream";
    head.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    auto stream = ex_->start_stream(std::move(head));
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    stream_ = stream;
    if (!stream_) {
      closed_ = true;
      return;
    }
    std::weak_ptr<sse_session> weak = shared_from_this();
    stream_->on_close([weak] {
      if (auto self = weak.lock())
        self->close();
    });
  }

  void chunk(const log_chunk& c) {
    std::lock_guard<std::recursive_mutex> guard{mtx_};
    next_offset_ = c.offset + c.text.size();
    if (stream_ && !closed_)
      stream_->send(sse_chunk(c));
  }

  void ended() {
    std::shared_ptr<event_stream> stream;
    {
      std::lock_guard<std::recursive_mutex> guard{mtx_};
      stream = stream_;
    }
    if (!stream)
      return;
    stream->send("event: end\ndata: " + dump(json{{"next_offset", next_offset_}}) + "\n\n");
    stream->finish();
  }

  /// The stream closed (finished, client gone, server stopping): stop following. This
  /// may run inside a callback of the log, so the subscription is stopped later, outside it.
  void close() {
    std::shared_ptr<subscription> sub;
    {
      std::lock_guard<std::recursive_mutex> guard{mtx_};
      closed_ = true;
      sub = std::move(sub_);
    }
    if (sub)
      ex_->defer([sub] { sub->stop(); });
  }

  std::shared_ptr<exchange> ex_;
  std::recursive_mutex mtx_;
  std::shared_ptr<event_stream> stream_;
  std::unique_ptr<subscription> sub_;
  std::uint64_t next_offset_ = 0;
  bool closed_ = false;
};

/// follow=0|1|true|false.
result<bool> follow_of(const query_params& q) {
  auto v = q.get("follow");
  if (!v || *v == "0" || *v == "false")
    return false;
  if (*v == "1" || *v == "true")
    return true;
  return make_error(errc::invalid_argument, "follow must be 0, 1, true or false", "follow");
}

/// Where to start: Last-Event-ID (an SSE reconnect) wins over the `from` parameter.
result<std::uint64_t> start_of(const http_request& req, const query_params& q) {
  // `from` is checked even when the header wins: a bad parameter is a bad request.
  auto from = q.number("from", 0, (1ull << 53) - 1, 0);
  if (!from)
    return from.err();
  if (req.has_header("last-event-id")) {
    std::uint64_t v = 0;
    if (!parse_decimal(req.header("last-event-id"), v))
      return make_error(errc::invalid_argument, "Last-Event-ID must be a log offset", "Last-Event-ID");
    return v;
  }
  return from;
}

} // namespace

void task_logs(handler_context& c) {
  if (!api::valid_id(c.params[0]))
    return c.ex->reply(error_response(404, "not_found", "no such resource"));
  auto q = query_params::parse(c.request().query, {"follow", "from"});
  if (!q)
    return fail(c, q.err());
  auto follow = follow_of(*q);
  auto from = start_of(c.request(), *q);
  if (!follow)
    return fail(c, follow.err());
  if (!from)
    return fail(c, from.err());
  task_id task{c.params[0]};
  if (!*follow) {
    c.services.core->read_task_logs(c.caller, task, *from, page_bytes, [ex = c.ex](result<api::log_page> page) {
      if (!page)
        return ex->reply(error_response(page.err()));
      json chunks = json::array();
      for (auto& chunk : page->chunks)
        chunks.push_back(to_json(chunk));
      ex->reply(json_response(200, json{{"chunks", std::move(chunks)}, {"next_offset", page->next_offset},
                                        {"complete", page->complete}}));
    });
    return;
  }
  auto session = std::make_shared<sse_session>(c.ex);
  session->attach(c.services.core->follow_task_logs(c.caller, task, *from, session->follower()));
}

} // namespace aetherium::http::handlers
