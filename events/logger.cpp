#include "events/logger.hpp"

#include <atomic>

namespace aetherium {

namespace {

std::shared_ptr<log_sink>& installed() {
  static std::shared_ptr<log_sink> sink;
  return sink;
}

} // namespace

const char* to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
  }
  return "info";
}

void set_log_sink(std::shared_ptr<log_sink> sink) { std::atomic_store(&installed(), std::move(sink)); }

void log(log_level level, const std::string& message, const log_fields& fields) {
  if (auto sink = std::atomic_load(&installed()))
    sink->write(level, message, fields);
}

} // namespace aetherium
