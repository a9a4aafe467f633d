// Usage read from server-sent event streams, fed in chunks that end anywhere.
#include <gtest/gtest.h>

#include "tests/unit/model_gateway/body_feeder.hpp"

namespace aetherium::model_gateway {
namespace {

using models::provider;
using models::usage;
using testing::expect_read_every_way;
using testing::read_in_chunks;

constexpr bool sse = true;

const char* const anthropic_stream =
  "event: message_start\n"
  R"(data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":2}}})" "\n"
  "\n"
  "event: content_block_start\n"
  R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})" "\n"
  "\n"
  "event: ping\n"
  R"(data: {"type": "ping"})" "\n"
  "\n"
  "event: content_block_delta\n"
  R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Here is the usage — naïve ✓ 日本"}})" "\n"
  "\n"
  "event: content_block_delta\n"
  R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" report."}})" "\n"
  "\n"
  "event: content_block_stop\n"
  R"(data: {"type":"content_block_stop","index":0})" "\n"
  "\n"
  "event: message_delta\n"
  R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}})" "\n"
  "\n"
  "event: message_stop\n"
  R"(data: {"type":"message_stop"})" "\n"
  "\n";

TEST(usage_reader_sse, anthropic_stream_takes_input_from_message_start_and_output_from_message_delta) {
  expect_read_every_way(provider::anthropic, sse, anthropic_stream,
                        usage{"claude-sonnet-4-5-20250929", 472 + 100 + 2000, 15});
}

// Output counts in message_delta are cumulative: the last one is the total.
const char* const anthropic_stream_two_deltas =
  "event: message_start\n"
  R"(data: {"type":"message_start","message":{"model":"claude-opus-4-1-20250805","usage":{"input_tokens":30,"output_tokens":1}}})" "\n"
  "\n"
  "event: message_delta\n"
  R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":40}})" "\n"
  "\n"
  "event: message_delta\n"
  R"(data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":89}})" "\n"
  "\n"
  "event: message_stop\n"
  R"(data: {"type":"message_stop"})" "\n"
  "\n";

TEST(usage_reader_sse, anthropic_takes_the_last_message_delta) {
  expect_read_every_way(provider::anthropic, sse, anthropic_stream_two_deltas,
                        usage{"claude-opus-4-1-20250805", 30, 89});
}

TEST(usage_reader_sse, anthropic_message_delta_input_counts_replace_message_start_ones) {
  const char* body =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}})" "\n"
    "\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{},"usage":{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":20}})" "\n"
    "\n";
  expect_read_every_way(provider::anthropic, sse, body, usage{"claude-haiku-4-5", 12 + 3 + 7, 20});
}

TEST(usage_reader_sse, anthropic_stream_cut_before_message_delta_keeps_the_start_counts) {
  // The last event has no blank line after it: it is incomplete and dropped.
  const char* body =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":50,"output_tokens":1}}})" "\n"
    "\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":3)";
  expect_read_every_way(provider::anthropic, sse, body, usage{"claude-sonnet-4-5", 50, 1});
}

TEST(usage_reader_sse, anthropic_stream_with_only_an_error_has_no_usage) {
  const char* body =
    ": keep-alive\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: error\n"
    R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})" "\n"
    "\n";
  expect_read_every_way(provider::anthropic, sse, body, std::nullopt);
}

TEST(usage_reader_sse, malformed_usage_event_makes_the_stream_unreadable) {
  const char* body =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":50,"output_tokens":1}}})" "\n"
    "\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":)" "\n"
    "\n";
  expect_read_every_way(provider::anthropic, sse, body, std::nullopt);
}

TEST(usage_reader_sse, malformed_events_that_cannot_carry_usage_are_ignored) {
  std::string body = std::string(anthropic_stream) +
                     "event: content_block_delta\n"
                     "data: {not json\n"
                     "\n";
  expect_read_every_way(provider::anthropic, sse, body, usage{"claude-sonnet-4-5-20250929", 2572, 15});
}

TEST(usage_reader_sse, comments_field_spacing_and_multi_line_data) {
  // "data:" without a space, JSON split over several data lines, comments, id and retry
  // fields, and an event without a name whose type says what it is.
  const char* body =
    ": this is a comment\n"
    "id: 1\n"
    "retry: 3000\n"
    "event:message_start\n"
    "data:{\"type\":\"message_start\",\n"
    "data: \"message\":{\"model\":\"claude-sonnet-4-5\",\n"
    ": a comment inside an event\n"
    "data: \"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n"
    "\n"
    R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":9}})" "\n"
    "\n";
  expect_read_every_way(provider::anthropic, sse, body, usage{"claude-sonnet-4-5", 7, 9});
}

TEST(usage_reader_sse, an_event_with_no_data_is_not_dispatched) {
  const char* body =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":7,"output_tokens":1}}})" "\n"
    "\n"
    "event: message_delta\n"
    "\n"
    "\n";
  expect_read_every_way(provider::anthropic, sse, body, usage{"m", 7, 1});
}

const char* const openai_responses_stream =
  "event: response.created\n"
  R"(data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}})" "\n"
  "\n"
  "event: response.in_progress\n"
  R"(data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}})" "\n"
  "\n"
  "event: response.output_text.delta\n"
  R"(data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Fixed — see usage.md ✓"})" "\n"
  "\n"
  "event: response.output_text.done\n"
  R"(data: {"type":"response.output_text.done","sequence_number":5,"item_id":"msg_1","output_index":1,"content_index":0,"text":"Fixed — see usage.md ✓"})" "\n"
  "\n"
  "event: response.completed\n"
  R"(data: {"type":"response.completed","sequence_number":8,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-codex","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Fixed — see usage.md ✓","annotations":[]}]}],"usage":{"input_tokens":1520,"input_tokens_details":{"cached_tokens":1024},"output_tokens":310,"output_tokens_details":{"reasoning_tokens":192},"total_tokens":1830}}})" "\n"
  "\n";

TEST(usage_reader_sse, openai_responses_stream_reads_response_completed) {
  expect_read_every_way(provider::openai, sse, openai_responses_stream, usage{"gpt-5-codex", 1520, 310});
}

TEST(usage_reader_sse, openai_incomplete_response_carries_usage_too) {
  const char* body =
    "event: response.created\n"
    R"(data: {"type":"response.created","response":{"model":"gpt-5","usage":null}})" "\n"
    "\n"
    "event: response.incomplete\n"
    R"(data: {"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-5-2025-08-07","usage":{"input_tokens":100,"output_tokens":4096}}})" "\n"
    "\n";
  expect_read_every_way(provider::openai, sse, body, usage{"gpt-5-2025-08-07", 100, 4096});
}

TEST(usage_reader_sse, openai_stream_cut_before_completion_has_no_usage) {
  std::string body(openai_responses_stream);
  body.resize(body.find("event: response.completed"));
  expect_read_every_way(provider::openai, sse, body, std::nullopt);
}

TEST(usage_reader_sse, openai_failed_response_without_usage_has_none) {
  const char* body =
    "event: response.failed\n"
    R"(data: {"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"x"},"model":"gpt-5","usage":null}})" "\n"
    "\n";
  expect_read_every_way(provider::openai, sse, body, std::nullopt);
}

const char* const openai_chat_stream =
  R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null})" "\n"
  "\n"
  R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hallå ✓"},"logprobs":null,"finish_reason":null}],"usage":null})" "\n"
  "\n"
  R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null})" "\n"
  "\n"
  R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}})" "\n"
  "\n"
  "data: [DONE]\n"
  "\n";

TEST(usage_reader_sse, openai_chat_completions_stream_reads_the_final_chunk) {
  expect_read_every_way(provider::openai, sse, openai_chat_stream, usage{"gpt-4o-mini-2024-07-18", 9, 12});
}

TEST(usage_reader_sse, openai_chat_stream_without_include_usage_has_none) {
  const char* body =
    R"(data: {"object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]})" "\n"
    "\n"
    "data: [DONE]\n"
    "\n";
  expect_read_every_way(provider::openai, sse, body, std::nullopt);
}

// streamGenerateContent?alt=sse: every chunk carries usageMetadata; the last is the total.
const char* const gemini_stream =
  R"(data: {"candidates": [{"content": {"parts": [{"text": "Über"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 11,"totalTokenCount": 11},"modelVersion": "gemini-2.5-pro","responseId": "r1"})" "\n"
  "\n"
  R"(data: {"candidates": [{"content": {"parts": [{"text": " usage ✓"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 11,"candidatesTokenCount": 3,"totalTokenCount": 214,"thoughtsTokenCount": 200},"modelVersion": "gemini-2.5-pro","responseId": "r1"})" "\n"
  "\n"
  R"(data: {"candidates": [{"content": {"parts": [{"text": "!"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 11,"candidatesTokenCount": 27,"totalTokenCount": 238,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 11}],"thoughtsTokenCount": 200},"modelVersion": "gemini-2.5-pro","responseId": "r1"})" "\n"
  "\n";

TEST(usage_reader_sse, gemini_stream_takes_the_last_usage_metadata) {
  expect_read_every_way(provider::gemini, sse, gemini_stream, usage{"gemini-2.5-pro", 11, 227});
}

TEST(usage_reader_sse, gemini_stream_without_model_version_gives_an_empty_model) {
  const char* body =
    R"(data: {"candidates": [],"usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 1}})" "\n"
    "\n";
  expect_read_every_way(provider::gemini, sse, body, usage{"", 5, 1});
}

TEST(usage_reader_sse, gemini_malformed_chunk_with_usage_makes_the_stream_unreadable) {
  std::string body = std::string(gemini_stream) + R"(data: {"usageMetadata": {"promptTokenCount": 1)" "\n\n";
  expect_read_every_way(provider::gemini, sse, body, std::nullopt);
}

TEST(usage_reader_sse, an_empty_stream_has_no_usage) {
  for (auto p : models::all_providers()) {
    EXPECT_FALSE(read_in_chunks(p, sse, "", 1));
    EXPECT_FALSE(read_in_chunks(p, sse, "\n\n\r\n: ping\n\n", 1));
  }
}

TEST(usage_reader_sse, an_oversized_text_event_is_skipped_and_usage_still_read) {
  std::string big = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"" +
                    std::string(usage_reader::max_body_bytes + 10, 'a') + "\"}}\n\n";
  std::string body = "event: message_start\n"
                     R"(data: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":7,"output_tokens":1}}})"
                     "\n\n" +
                     big +
                     "event: message_delta\n"
                     R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":9}})"
                     "\n\n";
  testing::expect_usage(read_in_chunks(provider::anthropic, sse, body, 65536), usage{"m", 7, 9});
}

TEST(usage_reader_sse, an_oversized_usage_event_makes_the_stream_unreadable) {
  // The counts read before it are not the total: no usage rather than too little.
  std::string body = "event: message_start\n"
                     R"(data: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":7,"output_tokens":1}}})"
                     "\n\n"
                     "event: message_delta\ndata: {\"type\":\"message_delta\",\"pad\":\"" +
                     std::string(usage_reader::max_body_bytes, 'a') +
                     R"(","usage":{"output_tokens":9}})" "\n\n";
  EXPECT_FALSE(read_in_chunks(provider::anthropic, sse, body, 65536));
  // Spread over many data lines it is just as big.
  std::string lines = "event: response.completed\n";
  for (int i = 0; i < 9; ++i) lines += "data: " + std::string(1 << 20, ' ') + "\n";
  lines += R"(data: {"type":"response.completed","response":{"model":"gpt-5","usage":{"input_tokens":1,"output_tokens":2}}})" "\n\n";
  EXPECT_FALSE(read_in_chunks(provider::openai, sse, lines, 65536));
}

TEST(usage_reader_sse, an_oversized_unnamed_event_makes_the_stream_unreadable) {
  // Gemini names no events: any chunk may carry the final usage.
  std::string body = R"(data: {"usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 1}})" "\n\n"
                     "data: {\"pad\":\"" + std::string(usage_reader::max_body_bytes, 'a') +
                     R"(","usageMetadata": {"promptTokenCount": 5,"candidatesTokenCount": 900}})" "\n\n";
  EXPECT_FALSE(read_in_chunks(provider::gemini, sse, body, 65536));
}

TEST(usage_reader_sse, a_long_stream_of_small_events_is_read_to_the_end) {
  std::string body = "event: message_start\n"
                     R"(data: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":7,"output_tokens":1}}})"
                     "\n\n";
  const std::string delta = "event: content_block_delta\n"
                            R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"0123456789abcdef0123456789abcdef"}})"
                            "\n\n";
  while (body.size() < 3 * usage_reader::max_body_bytes) body += delta;
  body += "event: message_delta\n"
          R"(data: {"type":"message_delta","delta":{},"usage":{"output_tokens":123456}})"
          "\n\n";
  testing::expect_usage(read_in_chunks(provider::anthropic, sse, body, 16384), usage{"m", 7, 123456});
}

} // namespace
} // namespace aetherium::model_gateway
