#include <map>
#include <mutex>

#include "events/checkpoint_store.hpp"

namespace aetherium {

namespace {

class memory_checkpoint_store : public checkpoint_store {
public:
  result<std::int64_t> load(const std::string& name) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = positions_.find(name);
    return it == positions_.end() ? std::int64_t{0} : it->second;
  }

  result<void> save(const std::string& name, std::int64_t position) override {
    if (name.empty())
      return make_error(errc::invalid_argument, "checkpoint name must not be empty", "name");
    std::lock_guard<std::mutex> guard{mtx_};
    auto& saved = positions_[name];
    if (position > saved)
      saved = position;
    return {};
  }

private:
  std::mutex mtx_;
  std::map<std::string, std::int64_t> positions_;
};

} // namespace

std::shared_ptr<checkpoint_store> make_memory_checkpoint_store() {
  return std::make_shared<memory_checkpoint_store>();
}

} // namespace aetherium
