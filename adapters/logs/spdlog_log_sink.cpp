#include "adapters/logs/spdlog_log_sink.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace aetherium {

namespace {

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

/// The members after "time": level, msg and the fields, without the enclosing braces.
std::string members(log_level level, const std::string& message, const log_fields& fields) {
  nlohmann::ordered_json line;
  line["level"] = to_string(level);
  line["msg"] = message;
  for (const auto& [name, value] : fields) {
    bool reserved = name == "time" || name == "level" || name == "msg";
    line[reserved ? "field." + name : name] = value;
  }
  auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.substr(1, text.size() - 2);
}

class spdlog_log_sink : public log_sink {
public:
  explicit spdlog_log_sink(spdlog::sink_ptr sink) : logger_("aetherium", std::move(sink)) {
    logger_.set_formatter(std::make_unique<spdlog::pattern_formatter>(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ",%v})",
                                                                      spdlog::pattern_time_type::utc));
    logger_.set_level(spdlog::level::trace);
    logger_.flush_on(spdlog::level::trace);
  }

  // log_sink
  void write(log_level level, const std::string& message, const log_fields& fields) override {
    try {
      logger_.log(to_spdlog(level), "{}", members(level, message, fields));
    } catch (const std::exception&) {
      // A log line that cannot be formatted is lost; the caller's work goes on.
    }
  }

private:
  spdlog::logger logger_;
};

} // namespace

std::shared_ptr<log_sink> make_spdlog_log_sink() {
  return std::make_shared<spdlog_log_sink>(std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

std::shared_ptr<log_sink> make_spdlog_log_sink(std::ostream& out) {
  return std::make_shared<spdlog_log_sink>(std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true));
}

} // namespace aetherium
