#pragma once

#include <string>

namespace aetherium::postgres {

/// Returns `conninfo` with secrets (password=..., user:pass@) replaced by "***", for logs.
std::string redact_conninfo(const std::string& conninfo);

} // namespace aetherium::postgres
