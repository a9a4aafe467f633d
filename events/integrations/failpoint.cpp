#include "events/integrations/failpoint.hpp"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "events/logger.hpp"

namespace aetherium {

void failpoint(const char* name) {
  const char* list = std::getenv("AETHERIUM_FAILPOINTS");
  if (!list)
    return;
  std::string points{list}, wanted = std::string{name} + "=pause";
  for (std::size_t at = 0; at <= points.size();) {
    auto end = std::min(points.find(',', at), points.size());
    if (points.compare(at, end - at, wanted) == 0 && end - at == wanted.size()) {
      log(log_level::warn, "failpoint reached", {{"failpoint", name}});
      for (;;)
        std::this_thread::sleep_for(std::chrono::hours(1));
    }
    at = end + 1;
  }
}

} // namespace aetherium
