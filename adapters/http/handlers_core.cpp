// Projects, tasks, the audit trail and nodes: decode, ask the control plane, encode.
#include "adapters/http/handlers.hpp"
#include "adapters/http/json_writer.hpp"
#include "events/api/validation.hpp"

namespace aetherium::http::handlers {

namespace {

/// Answers the control plane's reply: `encode` on success, the error's status otherwise.
template <class T, class Encode>
api::reply<T> answer(handler_context& c, Encode encode) {
  return [ex = c.ex, retry = c.services.options.quota_retry_after_seconds, encode](result<T> r) {
    if (!r)
      return ex->reply(error_response(r.err(), retry));
    ex->reply(encode(*r));
  };
}

/// Path parameters that cannot name anything answer 404 without asking the core.
bool plausible_id(handler_context& c, const std::string& id) {
  if (api::valid_id(id))
    return true;
  c.ex->reply(error_response(404, "not_found", "no such resource"));
  return false;
}

bool no_query(handler_context& c) {
  auto q = query_params::parse(c.request().query, {});
  if (!q)
    fail(c, q.err());
  return q.ok();
}

/// False (and answered 400, field "repo") when the server's policy refuses `repo` for the caller.
bool repository_allowed(handler_context& c, const std::string& repo) {
  auto& check = c.services.options.check_repository;
  if (!check)
    return true;
  auto allowed = check(repo, c.caller.tenant);
  if (!allowed)
    fail(c, make_error(errc::invalid_argument, allowed.err().detail, "repo"));
  return allowed.ok();
}

} // namespace

void fail(handler_context& c, const error& err) {
  c.ex->reply(error_response(err, c.services.options.quota_retry_after_seconds));
}

void create_project(handler_context& c) {
  if (!no_query(c))
    return;
  auto parsed = parse_create_project(c.request().body);
  if (!parsed)
    return fail(c, parsed.err());
  if (!repository_allowed(c, parsed->repo))
    return;
  c.services.core->create_project(c.caller, std::move(*parsed), answer<api::project_view>(c, [](auto& p) {
    auto r = json_response(201, to_json(p));
    r.headers.emplace_back("Location", "/v1/projects/" + p.id.str());
    return r;
  }));
}

void get_project(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->get_project(c.caller, project_id{c.params[0]},
                               answer<api::project_view>(c, [](auto& p) { return json_response(200, to_json(p)); }));
}

void create_task(handler_context& c) {
  if (!no_query(c))
    return;
  auto& req = c.request();
  std::string key{req.header("idempotency-key")};
  if (req.has_header("idempotency-key") && !api::valid_idempotency_key(key))
    return fail(c, make_error(errc::invalid_argument,
                              "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
                              "Idempotency-Key"));
  auto parsed = parse_create_task(req.body);
  if (!parsed)
    return fail(c, parsed.err());
  if (!parsed->repo.empty() && !repository_allowed(c, parsed->repo))
    return;
  c.services.core->create_task(c.caller, std::move(*parsed), std::move(key), answer<api::task_created>(c, [](auto& t) {
    auto r = json_text_response(202, task_json(t.task));
    r.headers.emplace_back("Location", "/v1/tasks/" + t.task.id.str());
    r.headers.emplace_back("Idempotent-Replayed", t.replayed ? "true" : "false");
    return r;
  }));
}

void get_task(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->get_task(c.caller, task_id{c.params[0]},
                            answer<api::task_view>(c, [views = c.services.task_views](auto& t) {
                              return json_text_response(200, *views->text(t));
                            }));
}

namespace {

/// Reads project, status, limit and cursor of GET /v1/tasks.
result<api::task_filter> task_filter_of(const http_request& req) {
  auto q = query_params::parse(req.query, {"project", "status", "limit", "cursor"});
  if (!q)
    return q.err();
  api::task_filter f;
  if (auto project = q->get("project")) {
    if (!api::valid_id(*project))
      return make_error(errc::invalid_argument, "project must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}", "project");
    f.project = project_id{*project};
  }
  if (auto status = q->get("status")) {
    api::task_status s;
    if (!api::parse_task_status(*status, s))
      return make_error(errc::invalid_argument, "status is not a task status", "status");
    f.status = s;
  }
  auto limit = q->number("limit", 1, api::limits::page_size, 50);
  if (!limit)
    return limit.err();
  f.limit = static_cast<std::size_t>(*limit);
  std::uint64_t ignored = 0;
  f.cursor = q->get("cursor").value_or("");
  if (q->get("cursor") && (f.cursor.size() > 18 || !parse_decimal(f.cursor, ignored)))
    return make_error(errc::invalid_argument, "cursor must be a next_cursor this server handed out", "cursor");
  return f;
}

} // namespace

void list_tasks(handler_context& c) {
  auto filter = task_filter_of(c.request());
  if (!filter)
    return fail(c, filter.err());
  c.services.core->list_tasks(c.caller, std::move(*filter), answer<api::task_page>(c, [](auto& page) {
    json_writer w;
    w.begin_object().key("tasks").begin_array();
    for (auto& t : page.tasks)
      write_task(w, t);
    w.end_array().key("next_cursor").string_or_null(page.next_cursor).end_object();
    return json_text_response(200, w.take());
  }));
}

void cancel_task(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->cancel_task(c.caller, task_id{c.params[0]},
                               answer<api::task_view>(c, [](auto& t) { return json_text_response(202, task_json(t)); }));
}

void task_events(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->task_events(c.caller, task_id{c.params[0]}, answer<std::vector<api::event_view>>(c, [](auto& events) {
    json out = json::array();
    for (auto& e : events)
      out.push_back(to_json(e));
    return json_response(200, json{{"events", std::move(out)}});
  }));
}

void events_after(handler_context& c) {
  auto q = query_params::parse(c.request().query, {"after", "limit"});
  if (!q)
    return fail(c, q.err());
  auto after = q->number("after", 0, INT64_MAX, 0);
  auto limit = q->number("limit", 1, api::limits::events_page_size, 100);
  for (auto* r : {&after, &limit})
    if (!*r)
      return fail(c, r->err());
  c.services.core->events_after(c.caller, static_cast<std::int64_t>(*after), static_cast<std::size_t>(*limit),
                                answer<api::event_page>(c, [](auto& page) {
                                  json out = json::array();
                                  for (auto& e : page.events)
                                    out.push_back(to_json(e));
                                  return json_response(200, json{{"events", std::move(out)}, {"next_after", page.next_after}});
                                }));
}

void list_nodes(handler_context& c) {
  if (!no_query(c))
    return;
  c.services.core->list_nodes(c.caller, answer<std::vector<api::node_view>>(c, [](auto& nodes) {
    json out = json::array();
    for (auto& n : nodes)
      out.push_back(to_json(n));
    return json_response(200, json{{"nodes", std::move(out)}});
  }));
}

void drain_node(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->drain_node(c.caller, node_id{c.params[0]}, false,
                              answer<api::node_view>(c, [](auto& n) { return json_response(200, to_json(n)); }));
}

void undrain_node(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->drain_node(c.caller, node_id{c.params[0]}, true,
                              answer<api::node_view>(c, [](auto& n) { return json_response(200, to_json(n)); }));
}

void remove_node(handler_context& c) {
  if (!no_query(c) || !plausible_id(c, c.params[0]))
    return;
  c.services.core->remove_node(c.caller, node_id{c.params[0]},
                               answer<api::node_view>(c, [](auto& n) { return json_response(200, to_json(n)); }));
}

} // namespace aetherium::http::handlers
