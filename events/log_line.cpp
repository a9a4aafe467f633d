#include "events/log_line.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace aetherium {

namespace {

void append_quoted(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string now_rfc3339() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

} // namespace

std::string json_log_line(const std::string& level, const std::string& message, const log_fields& fields) {
  std::string out = "{\"time\":";
  append_quoted(out, now_rfc3339());
  out += ",\"level\":";
  append_quoted(out, level);
  out += ",\"msg\":";
  append_quoted(out, message);
  for (const auto& [name, value] : fields) {
    out += ',';
    append_quoted(out, name);
    out += ':';
    append_quoted(out, value);
  }
  out += "}\n";
  return out;
}

} // namespace aetherium
