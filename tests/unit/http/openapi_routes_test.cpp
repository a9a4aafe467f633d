// docs/openapi.yaml and the server's route table describe the same routes.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "adapters/http/http_server.hpp"

namespace aetherium::testing {
namespace {

/// "METHOD /path" for every operation under `paths:` (a line scan: paths are indented two
/// spaces, methods four).
std::set<std::string> document_routes(const std::string& file) {
  std::ifstream in{file};
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  std::set<std::string> out;
  std::regex path_line{R"(^  (/[^:]*):\s*$)"};
  std::regex method_line{R"(^    (get|put|post|delete|patch|head|options):\s*$)"};
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') {
      in_paths = line.rfind("paths:", 0) == 0;
      continue;
    }
    std::smatch m;
    if (!in_paths)
      continue;
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
    } else if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      for (auto& c : method)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + path);
    }
  }
  return out;
}

TEST(openapi, every_server_route_is_documented_and_every_documented_route_served) {
  auto documented = document_routes(AETHERIUM_OPENAPI);
  std::set<std::string> served;
  for (auto& r : http::http_routes())
    served.insert(r.method + " " + r.path);
  ASSERT_GE(served.size(), 17u);
  for (auto& r : served)
    EXPECT_EQ(documented.count(r), 1u) << r << " is served but not in docs/openapi.yaml";
  for (auto& r : documented)
    EXPECT_EQ(served.count(r), 1u) << r << " is in docs/openapi.yaml but not served";
}

} // namespace
} // namespace aetherium::testing
