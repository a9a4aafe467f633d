#pragma once

#include <memory>
#include <ostream>

#include "events/logger.hpp"

namespace aetherium {

/// The server's log through spdlog: each line one JSON object,
/// {"time":"<RFC 3339, UTC, milliseconds>","level":"info","msg":"…", <fields>…}, every
/// value a JSON string escaped as RFC 8259 asks (invalid UTF-8 replaced by U+FFFD). A
/// field named time, level or msg is written as "field.<name>". Lines are written to
/// standard error and flushed one by one.
std::shared_ptr<log_sink> make_spdlog_log_sink();

/// The same, writing to `out`, which must outlive the sink.
std::shared_ptr<log_sink> make_spdlog_log_sink(std::ostream& out);

} // namespace aetherium
