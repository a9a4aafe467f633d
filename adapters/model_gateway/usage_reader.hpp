#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/models/model_usage.hpp"

namespace aetherium::model_gateway {

namespace detail {
/// Token counts seen so far in one response; which ones are set depends on the provider.
struct usage_counts {
  bool found = false; ///< Some count was read.
  bool bad = false;   ///< A body or event that should carry usage was malformed or too big.
  std::string model;
  std::uint64_t input = 0;
  std::uint64_t cache_creation = 0;
  std::uint64_t cache_read = 0;
  std::uint64_t output = 0;
  std::uint64_t thoughts = 0;
};
} // namespace detail

/// Reads the token usage a provider reports in one response body, fed in chunks of any size.
///
/// Formats: Anthropic Messages, OpenAI Responses and Chat Completions, Gemini
/// generateContent and streamGenerateContent (an SSE stream with alt=sse, a JSON array
/// without). Anthropic input counts add cache writes and reads; Gemini output counts add
/// thinking tokens. Memory stays bounded: a stream keeps only its current event, a JSON
/// body is kept up to max_body_bytes.
class usage_reader {
public:
  /// Largest JSON body, or single stream event, that is read; a larger one yields no usage.
  static constexpr std::size_t max_body_bytes = std::size_t{8} << 20;

  /// `event_stream`: the body is text/event-stream (server-sent events); otherwise JSON.
  usage_reader(models::provider p, bool event_stream);

  /// Takes the next bytes of the body; a chunk may end anywhere, even inside a character.
  void feed(std::string_view bytes);

  /// The usage the response reported; nullopt when it reported none or could not be parsed.
  /// The model is "" when the body named none (the caller then uses the requested model).
  /// A stream's last event is read only if a blank line ended it. Call once, after the
  /// last feed.
  std::optional<models::usage> finish();

private:
  void feed_stream(std::string_view bytes);
  void end_line();
  void take_field(std::string_view line);
  void dispatch_event();
  void read_event(std::string_view name, std::string_view data);

  models::provider provider_;
  bool event_stream_;
  detail::usage_counts counts_;

  // JSON body.
  std::string body_;
  bool body_too_big_ = false;

  // Event stream: the current line and event only.
  std::string line_;
  bool line_dropped_ = false; ///< The current line outgrew the limit; its rest is skipped.
  bool after_cr_ = false;     ///< The last byte was '\r': a following '\n' ends no line.
  std::string event_name_;
  std::string data_;
  bool has_data_ = false;
  bool event_too_big_ = false;
};

} // namespace aetherium::model_gateway
