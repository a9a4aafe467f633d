#include "adapters/postgres/connection_info.hpp"

#include <regex>

namespace aetherium::postgres {

std::string redact_conninfo(const std::string& conninfo) {
  static const std::regex keyword{R"((password\s*=\s*)('[^']*'|\S+))"};
  static const std::regex url{R"((://[^:/@]+:)[^@]*@)"};
  auto out = std::regex_replace(conninfo, keyword, "$1***");
  return std::regex_replace(out, url, "$1***@");
}

} // namespace aetherium::postgres
