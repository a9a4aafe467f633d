// Server log lines are JSON objects, one a line, whatever the message and fields hold.
#include "adapters/logs/spdlog_log_sink.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace aetherium {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

TEST(spdlog_log_sink_test, writes_one_json_object_a_line_with_time_level_message_and_fields) {
  std::ostringstream out;
  auto sink = make_spdlog_log_sink(out);
  sink->write(log_level::warn, "event store unavailable, retrying",
              {{"task_id", "t-1"}, {"tenant", "acme"}, {"correlation_id", "abc"}});
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  auto line = nlohmann::json::parse(lines[0]);
  EXPECT_TRUE(std::regex_match(line.at("time").get<std::string>(),
                               std::regex{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"}))
    << line.at("time");
  EXPECT_EQ(line.at("level"), "warn");
  EXPECT_EQ(line.at("msg"), "event store unavailable, retrying");
  EXPECT_EQ(line.at("task_id"), "t-1");
  EXPECT_EQ(line.at("tenant"), "acme");
  EXPECT_EQ(line.at("correlation_id"), "abc");
  EXPECT_EQ(lines[0].rfind(R"({"time":")", 0), 0u) << "time comes first";
}

TEST(spdlog_log_sink_test, escapes_quotes_backslashes_newlines_and_control_characters) {
  std::ostringstream out;
  auto sink = make_spdlog_log_sink(out);
  std::string nasty = "say \"hi\" \\ back\nslash\r\t\x01\x1f end {} {0}";
  sink->write(log_level::error, nasty, {{"detail", nasty}, {"msg", "not the message"}});
  sink->write(log_level::info, "second", {});
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 2u) << "a newline in a value must not split the line: " << out.str();
  auto line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line.at("level"), "error");
  EXPECT_EQ(line.at("msg"), nasty);
  EXPECT_EQ(line.at("detail"), nasty);
  EXPECT_EQ(line.at("field.msg"), "not the message");
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("msg"), "second");
}

TEST(spdlog_log_sink_test, invalid_utf8_is_replaced_not_lost) {
  std::ostringstream out;
  auto sink = make_spdlog_log_sink(out);
  sink->write(log_level::info, std::string{"bad \xff byte"}, {});
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("msg"), "bad \xef\xbf\xbd byte");
}

struct recording_sink : log_sink {
  void write(log_level level, const std::string& message, const log_fields& fields) override {
    seen.push_back({level, message, fields});
  }
  struct line {
    log_level level;
    std::string message;
    log_fields fields;
  };
  std::vector<line> seen;
};

TEST(logger_test, log_goes_to_the_installed_sink_and_nowhere_without_one) {
  log(log_level::info, "dropped");
  auto sink = std::make_shared<recording_sink>();
  set_log_sink(sink);
  log(log_level::warn, "kept", {{"task_id", "t-1"}});
  set_log_sink(nullptr);
  log(log_level::info, "dropped too");
  ASSERT_EQ(sink->seen.size(), 1u);
  EXPECT_EQ(sink->seen[0].level, log_level::warn);
  EXPECT_EQ(sink->seen[0].message, "kept");
  EXPECT_EQ(sink->seen[0].fields, (log_fields{{"task_id", "t-1"}}));
}

} // namespace
} // namespace aetherium
