#pragma once

#include <cstddef>

namespace aetherium::actors {

/// How many scheduler threads CAF gets: the machine's cores, at least 2.
std::size_t default_scheduler_threads();

} // namespace aetherium::actors
