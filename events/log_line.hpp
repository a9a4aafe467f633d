#pragma once

#include <string>
#include <utility>
#include <vector>

namespace aetherium {

/// Named values of one log line, e.g. {{"task_id", "t-1"}}.
using log_fields = std::vector<std::pair<std::string, std::string>>;

/// One line of the server's log: a JSON object with `time` (RFC 3339, UTC), `level`,
/// `msg` and `fields`, every value escaped, ending in a newline.
std::string json_log_line(const std::string& level, const std::string& message, const log_fields& fields = {});

} // namespace aetherium
