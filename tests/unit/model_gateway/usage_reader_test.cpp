// Usage read from whole JSON bodies (non-streaming responses, and Gemini's JSON-array stream).
#include <gtest/gtest.h>

#include "tests/unit/model_gateway/body_feeder.hpp"

namespace aetherium::model_gateway {
namespace {

using models::provider;
using models::usage;
using testing::expect_read_every_way;
using testing::read_in_chunks;

constexpr bool json_body = false;

const char* const anthropic_message = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "text", "text": "Voilà — the usage report: ✓ 日本語"}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {"input_tokens": 2095, "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 30000, "output_tokens": 503, "service_tier": "standard"}
})";

TEST(usage_reader_json, anthropic_message_adds_cache_writes_and_reads_to_input) {
  expect_read_every_way(provider::anthropic, json_body, anthropic_message,
                        usage{"claude-sonnet-4-5-20250929", 2095 + 1200 + 30000, 503});
}

TEST(usage_reader_json, anthropic_message_without_cache_fields) {
  expect_read_every_way(provider::anthropic, json_body,
                        R"({"type":"message","model":"claude-haiku-4-5","content":[],)"
                        R"("usage":{"input_tokens":12,"output_tokens":6}})",
                        usage{"claude-haiku-4-5", 12, 6});
}

TEST(usage_reader_json, a_body_that_names_no_model_gives_an_empty_model) {
  expect_read_every_way(provider::anthropic, json_body,
                        R"({"type":"message","usage":{"input_tokens":12,"output_tokens":6}})",
                        usage{"", 12, 6});
}

TEST(usage_reader_json, anthropic_error_body_has_no_usage) {
  expect_read_every_way(provider::anthropic, json_body,
                        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
                        std::nullopt);
}

const char* const openai_response = R"({
  "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
  "object": "response",
  "created_at": 1741476542,
  "status": "completed",
  "error": null,
  "model": "gpt-5-codex",
  "output": [
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
     "content": [{"type": "output_text", "text": "Done: the usage is 3 tokens. ✓", "annotations": []}]}
  ],
  "usage": {"input_tokens": 1520, "input_tokens_details": {"cached_tokens": 1024},
            "output_tokens": 310, "output_tokens_details": {"reasoning_tokens": 192},
            "total_tokens": 1830}
})";

TEST(usage_reader_json, openai_responses_api_body) {
  expect_read_every_way(provider::openai, json_body, openai_response, usage{"gpt-5-codex", 1520, 310});
}

const char* const openai_chat_completion = R"({
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4.1-2025-04-14",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! ¿Qué tal?",
               "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
  "service_tier": "default"
})";

TEST(usage_reader_json, openai_chat_completions_body) {
  expect_read_every_way(provider::openai, json_body, openai_chat_completion,
                        usage{"gpt-4.1-2025-04-14", 19, 10});
}

TEST(usage_reader_json, openai_response_with_null_usage_has_none) {
  expect_read_every_way(provider::openai, json_body,
                        R"({"object":"response","status":"in_progress","model":"gpt-5","usage":null})",
                        std::nullopt);
}

const char* const gemini_response = R"({
  "candidates": [{"content": {"parts": [{"text": "Über-usage? Nein. 🙂"}], "role": "model"},
                  "finishReason": "STOP", "index": 0}],
  "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 345,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
                    "thoughtsTokenCount": 325},
  "modelVersion": "gemini-2.5-flash",
  "responseId": "mRFnaOb3Bpbm1dkPhM3Q8Qs"
})";

TEST(usage_reader_json, gemini_counts_thinking_tokens_as_output) {
  expect_read_every_way(provider::gemini, json_body, gemini_response, usage{"gemini-2.5-flash", 8, 12 + 325});
}

TEST(usage_reader_json, gemini_code_assist_wraps_the_response) {
  expect_read_every_way(provider::gemini, json_body,
                        R"({"response":{"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":2},)"
                        R"("modelVersion":"gemini-2.5-pro"},"traceId":"t"})",
                        usage{"gemini-2.5-pro", 40, 2});
}

// streamGenerateContent without alt=sse: one JSON array of responses.
const char* const gemini_array_stream = R"([{
  "candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}, "index": 0}],
  "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
  "modelVersion": "gemini-2.5-pro"
}
,
{
  "candidates": [{"content": {"parts": [{"text": "lo ✓"}], "role": "model"}, "index": 0}],
  "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 113,
                    "thoughtsTokenCount": 100},
  "modelVersion": "gemini-2.5-pro"
}
,
{
  "candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": "STOP", "index": 0}]
}
])";

TEST(usage_reader_json, gemini_array_stream_takes_the_last_element_with_usage) {
  expect_read_every_way(provider::gemini, json_body, gemini_array_stream, usage{"gemini-2.5-pro", 9, 104});
}

TEST(usage_reader_json, gemini_response_without_usage_metadata_has_none) {
  expect_read_every_way(provider::gemini, json_body,
                        R"({"candidates":[],"promptFeedback":{"blockReason":"SAFETY"},"modelVersion":"gemini-2.5-pro"})",
                        std::nullopt);
  expect_read_every_way(provider::gemini, json_body, "[]", std::nullopt);
}

TEST(usage_reader_json, a_body_with_no_usage_at_all_has_none) {
  for (auto p : models::all_providers()) {
    SCOPED_TRACE(models::to_string(p));
    EXPECT_FALSE(read_in_chunks(p, json_body, "", 1));
    EXPECT_FALSE(read_in_chunks(p, json_body, "{}", 1));
    EXPECT_FALSE(read_in_chunks(p, json_body, "null", 1));
  }
}

TEST(usage_reader_json, malformed_json_has_no_usage) {
  std::string truncated(openai_response);
  truncated.resize(truncated.size() - 2);
  EXPECT_FALSE(read_in_chunks(provider::openai, json_body, truncated, 7));
  std::string anthropic_cut(anthropic_message);
  anthropic_cut.resize(anthropic_cut.size() - 1);
  EXPECT_FALSE(read_in_chunks(provider::anthropic, json_body, anthropic_cut, 7));
  EXPECT_FALSE(read_in_chunks(provider::gemini, json_body, "<html>502 Bad Gateway</html>", 3));
  EXPECT_FALSE(read_in_chunks(provider::anthropic, json_body,
                              R"({"usage":{"input_tokens":1,"output_tokens":2}} trailing)", 5));
}

TEST(usage_reader_json, counts_that_are_not_non_negative_integers_make_the_usage_unreadable) {
  const char* bodies[] = {
    R"({"usage":{"input_tokens":-5,"output_tokens":2}})",
    R"({"usage":{"input_tokens":5.5,"output_tokens":2}})",
    R"({"usage":{"input_tokens":"5","output_tokens":2}})",
    R"({"usage":{"input_tokens":5,"output_tokens":2,"cache_read_input_tokens":true}})",
    R"({"usage":{"input_tokens":99999999999999999999999,"output_tokens":2}})",
    R"({"usage":[5,2]})",
  };
  for (const char* body : bodies) {
    EXPECT_FALSE(read_in_chunks(provider::anthropic, json_body, body, 1000)) << body;
  }
  EXPECT_FALSE(read_in_chunks(provider::gemini, json_body,
                              R"({"usageMetadata":{"promptTokenCount":-1,"candidatesTokenCount":2}})", 1000));
  EXPECT_FALSE(read_in_chunks(provider::openai, json_body,
                              R"({"usage":{"prompt_tokens":1,"completion_tokens":{"n":2}}})", 1000));
}

TEST(usage_reader_json, a_body_over_the_cap_gives_no_usage) {
  std::string padding(usage_reader::max_body_bytes, 'x');
  std::string body = R"({"model":"claude-sonnet-4-5","pad":")" + padding +
                     R"(","usage":{"input_tokens":1,"output_tokens":2}})";
  EXPECT_FALSE(read_in_chunks(provider::anthropic, json_body, body, 65536));
  // Just under the cap it is read.
  std::string small_pad(usage_reader::max_body_bytes - 200, 'x');
  std::string fits = R"({"model":"claude-sonnet-4-5","pad":")" + small_pad +
                     R"(","usage":{"input_tokens":1,"output_tokens":2}})";
  ASSERT_LE(fits.size(), usage_reader::max_body_bytes);
  testing::expect_usage(read_in_chunks(provider::anthropic, json_body, fits, 65536),
                        usage{"claude-sonnet-4-5", 1, 2});
}

TEST(usage_reader_json, absurdly_deep_nesting_is_refused_not_parsed) {
  std::string deep = R"({"usage":{"input_tokens":1,"output_tokens":2},"x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  EXPECT_FALSE(read_in_chunks(provider::anthropic, json_body, deep, 4096));
}

} // namespace
} // namespace aetherium::model_gateway
