// The client commands: one API call each, with the body and the rendering of the answer
// from client_output.cpp. Log following streams to stdout; progress goes to stderr.
#include "runtime/client_commands.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/http/client/api_client.hpp"
#include "runtime/commands.hpp"

namespace aetherium::runtime {

namespace {

using json = nlohmann::json;

http::api_client make_client(const command_line& cmd, const config& cfg) {
  auto* server = std::getenv("AETHERIUM_SERVER");
  auto* token = std::getenv("AETHERIUM_TOKEN");
  http::client_options o;
  o.base_url = cmd.get("server", server && *server ? server : cfg.listen);
  if (o.base_url.find("://") == std::string::npos)
    o.base_url = "http://" + o.base_url;
  o.token = cmd.get("token", token ? token : "");
  o.reconnect_limit_ms = std::atol(cmd.get("reconnect-timeout", "60").c_str()) * 1000;
  o.on_connection_lost = [url = o.base_url](const std::string& reason) {
    std::cerr << (::isatty(STDERR_FILENO) == 1 ? "\r\033[K" : "") << "aetherium: connection to " << url << " lost ("
              << reason << "), reconnecting...\n" << std::flush;
  };
  return http::api_client{o};
}

/// Told on SIGINT while a log is followed: the task goes on without us.
char interrupted_note[512];

extern "C" void on_interrupt(int) {
  (void)!::write(STDERR_FILENO, interrupted_note, std::strlen(interrupted_note));
  ::_exit(130);
}

/// While alive, Ctrl-C ends following with a note saying how to follow or cancel task `id`.
class interrupt_note {
public:
  explicit interrupt_note(const std::string& id) {
    auto text = "\naetherium: stopped following; task " + id + " keeps running.\n  follow it again: aetherium task logs "
                + id + " -f\n  cancel it:       aetherium task cancel " + id + "\n";
    std::snprintf(interrupted_note, sizeof interrupted_note, "%s", text.c_str());
    previous_ = std::signal(SIGINT, on_interrupt);
  }
  ~interrupt_note() { std::signal(SIGINT, previous_); }
  interrupt_note(const interrupt_note&) = delete;
  interrupt_note& operator=(const interrupt_note&) = delete;

private:
  void (*previous_)(int) = SIG_DFL;
};

int fail(const error& e) {
  std::cerr << format_error(e) << "\n";
  return exit_failure;
}

using formatter = result<std::string> (*)(std::string_view);

/// Prints an answer: the raw JSON with --json, else as `format` renders it.
int show(const command_line& cmd, const result<std::string>& answer, formatter format) {
  if (!answer)
    return fail(answer.err());
  if (cmd.has("json")) {
    std::cout << *answer << "\n";
    return exit_ok;
  }
  auto text = format(*answer);
  if (!text)
    return fail(make_error(errc::internal, text.err().detail));
  std::cout << *text;
  return exit_ok;
}

std::string field_of(const std::string& answer, const char* key) {
  auto j = json::parse(answer, nullptr, false);
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// Prints log chunks as they come and a spinner on stderr between them.
class log_follower {
public:
  log_follower(std::string id, bool raw, bool spinner) : id_(std::move(id)), raw_(raw), spinner_(spinner) {}

  bool chunk(const std::string& chunk_json) {
    clear();
    auto text = raw_ ? result<std::string>{chunk_json + "\n"} : chunk_text(chunk_json);
    if (text) {
      std::cout << *text << std::flush;
      bytes_ += text->size();
      if (!text->empty())
        at_line_start_ = text->back() == '\n';
    }
    return true;
  }

  bool tick() {
    // Drawing over a half-written line of the log would erase it.
    if (!spinner_ || !at_line_start_)
      return true;
    static const char frames[] = "|/-\\";
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_);
    std::cerr << "\r\033[K" << frames[ticks_++ % 4] << " task " << id_ << ": " << bytes_ << " bytes of log, "
              << seconds.count() << " s" << std::flush;
    drawn_ = true;
    return true;
  }

  void clear() {
    if (drawn_)
      std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

  /// Clears the spinner and ends a last log line that has no newline.
  void finish() {
    clear();
    if (!at_line_start_)
      std::cout << "\n";
  }

private:
  std::string id_;
  bool raw_, spinner_;
  bool drawn_ = false, at_line_start_ = true;
  unsigned ticks_ = 0;
  std::uint64_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// The task once it reached a final status (the read model may trail the log's end by a
/// moment), or as it is after a few seconds. Exit code: failure for failed or terminated.
int final_status(const command_line& cmd, http::api_client& api, const std::string& id) {
  auto task = settled_task(api, id);
  if (!task)
    return fail(task.err());
  if (int rc = show(cmd, task, format_task_status); rc != exit_ok)
    return rc;
  auto status = field_of(*task, "status");
  return status == "failed" || status == "terminated" ? exit_failure : exit_ok;
}

int follow(const command_line& cmd, http::api_client& api, const std::string& id) {
  log_follower out{id, cmd.has("json"), ::isatty(STDERR_FILENO) == 1};
  interrupt_note note{id};
  auto end = api.follow_task_logs(
    id, 0, [&](const std::string& chunk) { return out.chunk(chunk); }, [&] { return out.tick(); });
  out.finish();
  if (!end) {
    int rc = fail(end.err());
    if (end.err().code == errc::unavailable)
      std::cerr << "aetherium: the task may still be running; follow it again with: aetherium task logs " << id << " -f\n";
    return rc;
  }
  return final_status(cmd, api, id);
}

/// The whole log so far, page after page.
int print_logs(const command_line& cmd, http::api_client& api, const std::string& id) {
  for (std::uint64_t from = 0;;) {
    auto page = api.task_logs(id, from);
    if (!page)
      return fail(page.err());
    auto j = json::parse(*page, nullptr, false);
    if (!j.is_object())
      return fail(make_error(errc::internal, "the server's answer is not a JSON log page"));
    if (cmd.has("json"))
      std::cout << *page << "\n";
    auto chunks = j.find("chunks");
    bool any = chunks != j.end() && chunks->is_array() && !chunks->empty();
    for (std::size_t i = 0; any && !cmd.has("json") && i < chunks->size(); ++i)
      if (auto& c = (*chunks)[i]; c.is_object() && c.contains("text") && c["text"].is_string())
        std::cout << c["text"].get<std::string>();
    auto next = j.find("next_offset");
    if (!any || j.value("complete", false) || next == j.end() || !next->is_number_unsigned()
        || next->get<std::uint64_t>() <= from)
      return exit_ok;
    from = next->get<std::uint64_t>();
  }
}

int project_command(const command_line& cmd, http::api_client& api) {
  auto& verb = cmd.words[1];
  if (verb == "create") {
    auto body = project_request_body(cmd);
    if (!body)
      return usage_error(body.err().detail);
    return show(cmd, api.create_project(*body), format_project);
  }
  if (verb == "get" && cmd.words.size() == 3)
    return show(cmd, api.get_project(cmd.words[2]), format_project);
  return usage_error("project needs: create --name N --repo R, or get ID");
}

int task_create(const command_line& cmd, http::api_client& api) {
  auto body = task_request_body(cmd);
  if (!body)
    return usage_error(body.err().detail);
  auto task = api.create_task(*body, cmd.get("idempotency-key"));
  if (!task || !cmd.has("follow"))
    return show(cmd, task, format_task);
  if (int rc = show(cmd, task, format_task_status); rc != exit_ok)
    return rc;
  return follow(cmd, api, field_of(*task, "id"));
}

int task_list(const command_line& cmd, http::api_client& api) {
  if (cmd.words.size() != 2)
    return usage_error("task list takes no arguments, only --project, --status, --limit, --cursor");
  http::task_query q{cmd.get("project"), cmd.get("status"), 0, cmd.get("cursor")};
  if (cmd.has("limit")) {
    auto limit = cmd.get("limit");
    auto n = limit.find_first_not_of("0123456789") == std::string::npos ? parse_size(limit) : std::uint64_t{0};
    if (!n || *n == 0)
      return usage_error("--limit must be a whole number from 1");
    q.limit = static_cast<std::size_t>(*n);
  }
  return show(cmd, api.list_tasks(q), format_task_list);
}

int task_command(const command_line& cmd, http::api_client& api) {
  auto& verb = cmd.words[1];
  if (verb == "create")
    return task_create(cmd, api);
  if (verb == "list")
    return task_list(cmd, api);
  if (verb != "get" && verb != "cancel" && verb != "events" && verb != "logs")
    return usage_error("task needs: create, get, list, logs, cancel or events");
  if (cmd.words.size() != 3)
    return usage_error("task " + verb + " needs one task id");
  auto& id = cmd.words[2];
  if (verb == "get")
    return show(cmd, api.get_task(id), format_task);
  if (verb == "cancel")
    return show(cmd, api.cancel_task(id), format_task_status);
  if (verb == "events")
    return show(cmd, api.task_events(id), format_events);
  return cmd.has("follow") || cmd.has("f") ? follow(cmd, api, id) : print_logs(cmd, api, id);
}

} // namespace

int run_project(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() < 2)
    return usage_error("project needs: create or get");
  auto api = make_client(cmd, cfg);
  return project_command(cmd, api);
}

int run_task(const command_line& cmd, const config& cfg) {
  if (cmd.words.size() < 2)
    return usage_error("task needs: create, get, list, logs, cancel or events");
  if (auto s = cmd.get("reconnect-timeout", "60"); s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
    return usage_error("--reconnect-timeout must be a whole number of seconds");
  auto api = make_client(cmd, cfg);
  return task_command(cmd, api);
}

int run_node_admin(const command_line& cmd, const config& cfg) {
  auto& verb = cmd.words[1];
  auto api = make_client(cmd, cfg);
  auto raw = [](const result<std::string>& answer) -> int {
    if (!answer)
      return fail(answer.err());
    std::cout << *answer << "\n";
    return exit_ok;
  };
  if (verb == "list" && cmd.words.size() == 2)
    return raw(api.list_nodes());
  if ((verb != "drain" && verb != "undrain" && verb != "remove") || cmd.words.size() != 3)
    return usage_error("node needs --join HOST:PORT, or one of: list, drain NAME, undrain NAME, remove NAME");
  auto path = "/v1/nodes/" + http::url_encode(cmd.words[2]);
  auto answer = verb == "remove" ? api.request("DELETE", path) : api.request("POST", path + "/" + verb);
  if (!answer)
    return fail(answer.err());
  if (auto ok = http::error_of(*answer); !ok)
    return fail(ok.err());
  return raw(answer->body);
}

result<std::string> settled_task(http::api_client& api, const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto task = api.get_task(id);
    if (!task || is_final_status(field_of(*task, "status")) || std::chrono::steady_clock::now() >= deadline)
      return task;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

} // namespace aetherium::runtime
