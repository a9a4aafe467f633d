#include <map>
#include <mutex>

#include "events/notifications/subscription_store.hpp"

namespace aetherium::notifications {

namespace {

class memory_subscription_store final : public subscription_store {
public:
  result<void> record(const subscription_id& id, const tenant_id&, const std::string&,
                      const std::vector<subscription_event>& events, std::int64_t expected) override {
    std::lock_guard<std::mutex> lock(mtx_);
    auto& s = states_[id.str()];
    if (s.version != expected)
      return make_error(errc::conflict, "subscription " + id.str() + " changed meanwhile");
    for (auto& e : events) {
      ++position_;
      if (std::holds_alternative<subscription_created>(e)) {
        s.created_position = position_;
        order_.emplace(position_, id.str());
      }
      s = notifications::subscription::evolve(std::move(s), e);
      ++s.version;
    }
    return {};
  }

  result<subscription_state> load(const subscription_id& id) override {
    std::lock_guard<std::mutex> lock(mtx_);
    auto it = states_.find(id.str());
    return it == states_.end() ? subscription_state{} : it->second;
  }

  std::vector<subscription_state> all() override {
    std::lock_guard<std::mutex> lock(mtx_);
    std::vector<subscription_state> out;
    for (auto& [position, id] : order_)
      out.push_back(states_.at(id));
    return out;
  }

private:
  std::mutex mtx_;
  std::int64_t position_ = 0;
  std::map<std::string, subscription_state> states_;
  std::map<std::int64_t, std::string> order_;
};

} // namespace

std::shared_ptr<subscription_store> make_memory_subscription_store() {
  return std::make_shared<memory_subscription_store>();
}

} // namespace aetherium::notifications
