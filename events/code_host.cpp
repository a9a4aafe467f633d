#include "events/code_host.hpp"

namespace aetherium {

std::size_t change_set::changed_bytes() const {
  std::size_t n = 0;
  for (auto& f : files)
    n += f.content.size() + f.path.size();
  return n;
}

} // namespace aetherium
