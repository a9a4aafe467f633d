#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aetherium {

/// How much a log line matters.
enum class log_level { debug, info, warn, error };

/// "debug", "info", "warn" or "error".
const char* to_string(log_level level) noexcept;

/// Named values of one log line, e.g. {{"task_id", "t-1"}, {"correlation_id", "abc"}}.
using log_fields = std::vector<std::pair<std::string, std::string>>;

/// Where the server's log lines go (adapters/logs/spdlog_log_sink.hpp writes each as one
/// JSON object). Implementations are thread-safe and never throw: a line that cannot be
/// written is lost, never an error of the caller.
class log_sink {
public:
  virtual ~log_sink() = default;
  virtual void write(log_level level, const std::string& message, const log_fields& fields) = 0;
};

/// Makes `sink` the process's log from now on; null: lines are dropped (the default).
void set_log_sink(std::shared_ptr<log_sink> sink);

/// Writes one line to the process's log.
void log(log_level level, const std::string& message, const log_fields& fields = {});

} // namespace aetherium
