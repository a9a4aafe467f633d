#include <map>
#include <mutex>

#include "events/projection_snapshot_store.hpp"

namespace aetherium {

namespace {

class memory_projection_snapshot_store : public projection_snapshot_store {
public:
  result<void> save(const projection_snapshot& s) override {
    if (s.name.empty())
      return make_error(errc::invalid_argument, "snapshot name must not be empty", "name");
    if (s.position < 0)
      return make_error(errc::invalid_argument, "snapshot position must not be negative", "position");
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = kept_.find(s.name);
    if (it != kept_.end() && it->second.format_version == s.format_version && it->second.position > s.position)
      return {};
    kept_[s.name] = s;
    return {};
  }

  result<std::optional<projection_snapshot>> load_latest(const std::string& name) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = kept_.find(name);
    if (it == kept_.end())
      return std::optional<projection_snapshot>{};
    return std::optional<projection_snapshot>{it->second};
  }

private:
  std::mutex mtx_;
  std::map<std::string, projection_snapshot> kept_;
};

} // namespace

std::shared_ptr<projection_snapshot_store> make_memory_projection_snapshot_store() {
  return std::make_shared<memory_projection_snapshot_store>();
}

} // namespace aetherium
