#include "events/result.hpp"

namespace aetherium {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::conflict: return "conflict";
    case errc::invalid_transition: return "invalid_transition";
    case errc::quota_exceeded: return "quota_exceeded";
    case errc::unauthorized: return "unauthorized";
    case errc::forbidden: return "forbidden";
    case errc::unavailable: return "unavailable";
    case errc::corrupt: return "corrupt";
    case errc::internal: return "internal";
  }
  return "internal";
}

} // namespace aetherium
