#include "actors/actor_system_config.hpp"

#include <algorithm>
#include <thread>

namespace aetherium::actors {

std::size_t default_scheduler_threads() {
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

} // namespace aetherium::actors
