#include "adapters/http/task_json_cache.hpp"

#include "adapters/http/json_codec.hpp"

namespace aetherium::http {

std::shared_ptr<const std::string> task_json_cache::text(const api::task_view& t) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = entries_.find(t.id.str());
    if (it != entries_.end() && it->second.version == t.version && it->second.updated_at_us == t.updated_at_us &&
        it->second.status == t.status)
      return it->second.text;
  }
  auto rendered = std::make_shared<const std::string>(task_json(t));
  std::lock_guard<std::mutex> guard{mtx_};
  if (entries_.size() >= capacity_)
    entries_.clear();
  entries_[t.id.str()] = entry{t.version, t.updated_at_us, t.status, rendered};
  return rendered;
}

} // namespace aetherium::http
