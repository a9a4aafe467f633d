#include "adapters/model_gateway/usage_reader.hpp"

#include <limits>

#include <nlohmann/json.hpp>

namespace aetherium::model_gateway {

namespace {

using nlohmann::json;

/// Deeper JSON is refused before parsing: no provider nests usage anywhere near this.
constexpr int max_json_depth = 128;

/// Whether `text` nests arrays and objects no deeper than max_json_depth (strings skipped).
bool depth_ok(std::string_view text) noexcept {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_json_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

/// Parses `text`; a discarded value when it is not JSON or nests too deep.
json parse_json(std::string_view text) {
  if (!depth_ok(text)) return json(json::value_t::discarded);
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max()
                                                           : a + b;
}

/// Reads token counts out of parsed bodies and events into one running tally.
/// Any count that is present but not a non-negative integer marks the tally bad.
struct tally {
  detail::usage_counts& c;

  /// Sets `out` from `obj[key]` when that is a count; absent and null leave it alone.
  void count(const json& obj, const char* key, std::uint64_t& out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    if (!it->is_number_unsigned()) {
      c.bad = true;
      return;
    }
    out = it->get<std::uint64_t>();
    c.found = true;
  }

  void take_model(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it != obj.end() && it->is_string()) c.model = it->get<std::string>();
  }

  /// The object at obj[key]; nullptr when absent or null, and marks the tally bad when
  /// it is something other than an object.
  const json* object_at(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_object()) {
      c.bad = true;
      return nullptr;
    }
    return &*it;
  }

  /// Anthropic `usage`: each count present replaces the one seen before.
  void anthropic_usage(const json& u) {
    count(u, "input_tokens", c.input);
    count(u, "cache_creation_input_tokens", c.cache_creation);
    count(u, "cache_read_input_tokens", c.cache_read);
    count(u, "output_tokens", c.output);
  }

  /// An Anthropic message (a JSON body, or message_start's `message`).
  void anthropic_message(const json& m) {
    take_model(m, "model");
    if (auto* u = object_at(m, "usage")) anthropic_usage(*u);
  }

  /// OpenAI `usage` of the Responses API or of Chat Completions.
  void openai_usage(const json& u) {
    count(u, "input_tokens", c.input);
    count(u, "output_tokens", c.output);
    count(u, "prompt_tokens", c.input);
    count(u, "completion_tokens", c.output);
  }

  /// An OpenAI response or chat completion (a JSON body, a final event's `response`, a chunk).
  void openai_response(const json& r) {
    take_model(r, "model");
    if (auto* u = object_at(r, "usage")) openai_usage(*u);
  }

  /// A Gemini GenerateContentResponse: its usageMetadata, when present, replaces all counts.
  /// The Code Assist form wraps the same object in `response`.
  void gemini_response(const json& r) {
    const json* body = &r;
    if (!r.contains("usageMetadata")) {
      auto inner = r.find("response");
      if (inner != r.end() && inner->is_object()) body = &*inner;
    }
    take_model(*body, "modelVersion");
    if (auto* u = object_at(*body, "usageMetadata")) {
      c.input = c.output = c.thoughts = 0;
      count(*u, "promptTokenCount", c.input);
      count(*u, "candidatesTokenCount", c.output);
      count(*u, "thoughtsTokenCount", c.thoughts);
    }
  }
};

bool is_usage_event(std::string_view name) noexcept {
  return name == "message_start" || name == "message_delta" || name == "response.completed" ||
         name == "response.incomplete" || name == "response.failed";
}

/// Reads one parsed stream event of provider `p`. `kind` is the event's `type` field, or
/// its SSE event name when the data has none.
void read_stream_event(models::provider p, std::string_view kind, const json& j, tally& t) {
  switch (p) {
    case models::provider::anthropic:
      if (kind == "message_start") {
        if (auto* m = t.object_at(j, "message")) t.anthropic_message(*m);
      } else if (kind == "message_delta") {
        if (auto* u = t.object_at(j, "usage")) t.anthropic_usage(*u);
      }
      return;
    case models::provider::openai:
      if (kind == "response.completed" || kind == "response.incomplete" || kind == "response.failed") {
        if (auto* r = t.object_at(j, "response")) t.openai_response(*r);
      } else if (kind.rfind("response.", 0) != 0) {
        t.openai_response(j); // a Chat Completions chunk; usage comes in the last one
      }
      return;
    case models::provider::gemini:
      t.gemini_response(j);
      return;
  }
}

/// Reads a whole JSON body of provider `p`.
void read_body(models::provider p, const json& j, tally& t) {
  switch (p) {
    case models::provider::anthropic:
      if (j.is_object()) t.anthropic_message(j);
      else t.c.bad = true;
      return;
    case models::provider::openai:
      if (j.is_object()) t.openai_response(j);
      else t.c.bad = true;
      return;
    case models::provider::gemini:
      if (j.is_object()) {
        t.gemini_response(j);
      } else if (j.is_array()) {
        // streamGenerateContent without alt=sse: the last element with usage wins.
        for (const auto& element : j) {
          if (element.is_object()) t.gemini_response(element);
        }
      } else {
        t.c.bad = true;
      }
      return;
  }
}

std::optional<models::usage> result_of(const detail::usage_counts& c) {
  if (c.bad || !c.found) return std::nullopt;
  models::usage u;
  u.model = c.model;
  u.input_tokens = saturating_add(saturating_add(c.input, c.cache_creation), c.cache_read);
  u.output_tokens = saturating_add(c.output, c.thoughts);
  return u;
}

} // namespace

usage_reader::usage_reader(models::provider p, bool event_stream)
    : provider_(p), event_stream_(event_stream) {}

void usage_reader::feed(std::string_view bytes) {
  if (event_stream_) {
    feed_stream(bytes);
    return;
  }
  if (body_too_big_) return;
  if (bytes.size() > max_body_bytes - body_.size()) {
    body_too_big_ = true;
    std::string().swap(body_);
    return;
  }
  body_.append(bytes);
}

void usage_reader::feed_stream(std::string_view bytes) {
  std::size_t i = 0;
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes[0] == '\n') i = 1; // the second half of a "\r\n" split across chunks
  }
  while (i < bytes.size()) {
    auto end = bytes.find_first_of("\r\n", i);
    auto piece = bytes.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!line_dropped_) {
      if (piece.size() + line_.size() + data_.size() > max_body_bytes) {
        line_dropped_ = true;
        std::string().swap(line_);
      } else {
        line_.append(piece);
      }
    }
    if (end == std::string_view::npos) return;
    end_line();
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size()) after_cr_ = true;
      else if (bytes[end + 1] == '\n') ++end;
    }
    i = end + 1;
  }
}

void usage_reader::end_line() {
  if (line_dropped_) {
    line_dropped_ = false;
    event_too_big_ = true;
    std::string().swap(data_);
    return;
  }
  if (line_.empty()) {
    dispatch_event();
    return;
  }
  take_field(line_);
  line_.clear();
}

void usage_reader::take_field(std::string_view line) {
  if (line.front() == ':') return; // a comment
  auto colon = line.find(':');
  auto field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_name_.assign(value);
  } else if (field == "data" && !event_too_big_) {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  }
}

void usage_reader::dispatch_event() {
  if (event_too_big_) {
    // Usage may have been in it: an unnamed event or a usage-bearing one counts as lost.
    if (event_name_.empty() || is_usage_event(event_name_)) counts_.bad = true;
  } else if (has_data_) {
    read_event(event_name_, data_);
  }
  event_name_.clear();
  has_data_ = false;
  event_too_big_ = false;
  if (data_.capacity() > (std::size_t{64} << 10)) std::string().swap(data_);
  else data_.clear();
}

void usage_reader::read_event(std::string_view name, std::string_view data) {
  // Most events (text deltas) carry no usage: only those that can are parsed.
  if (!is_usage_event(name) && data.find("usage") == std::string_view::npos) return;
  auto j = parse_json(data);
  if (!j.is_object()) {
    counts_.bad = true;
    return;
  }
  std::string kind(name);
  if (auto type = j.find("type"); type != j.end() && type->is_string()) kind = type->get<std::string>();
  tally t{counts_};
  read_stream_event(provider_, kind, j, t);
}

std::optional<models::usage> usage_reader::finish() {
  if (event_stream_) return result_of(counts_); // an event no blank line ended is dropped
  if (body_too_big_) return std::nullopt;
  auto j = parse_json(body_);
  std::string().swap(body_);
  if (j.is_discarded()) return std::nullopt;
  tally t{counts_};
  read_body(provider_, j, t);
  return result_of(counts_);
}

} // namespace aetherium::model_gateway
