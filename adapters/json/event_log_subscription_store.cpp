#include "adapters/json/event_log_subscription_store.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "events/canonical_json.hpp"

namespace aetherium {

namespace {

using json = nlohmann::json;
using namespace notifications;

constexpr std::string_view category = "subscription";

json payload_of(const subscription_created& e) {
  return {{"id", e.id.str()}, {"tenant", e.tenant.str()}, {"url", e.url}, {"events", e.events}, {"at_us", e.at_us}};
}
json payload_of(const subscription_deleted& e) { return {{"at_us", e.at_us}}; }
json payload_of(const subscription_delivery_dead_lettered& e) {
  return {{"event_id", e.event_id},       {"event_type", e.event_type}, {"position", e.position},
          {"attempts", e.attempts},       {"last_status", e.last_status}, {"last_error", e.last_error},
          {"at_us", e.at_us}};
}

/// The event `e` holds, when it is one of ours at a schema we read.
std::optional<subscription_event> decode(const recorded_event& e) {
  if (e.schema_version != 1)
    return std::nullopt;
  try {
    auto p = json::parse(e.payload);
    if (e.type == subscription_created::type_name)
      return subscription_event{subscription_created{subscription_id{p.at("id").get<std::string>()},
                                                     tenant_id{p.at("tenant").get<std::string>()},
                                                     p.at("url").get<std::string>(),
                                                     p.at("events").get<std::vector<std::string>>(),
                                                     p.at("at_us").get<std::int64_t>()}};
    if (e.type == subscription_deleted::type_name)
      return subscription_event{subscription_deleted{p.at("at_us").get<std::int64_t>()}};
    if (e.type == subscription_delivery_dead_lettered::type_name)
      return subscription_event{subscription_delivery_dead_lettered{
        p.at("event_id").get<std::string>(), p.at("event_type").get<std::string>(),
        p.at("position").get<std::int64_t>(), p.at("attempts").get<std::uint32_t>(),
        p.at("last_status").get<int>(), p.at("last_error").get<std::string>(), p.at("at_us").get<std::int64_t>()}};
  } catch (const json::exception&) {
  }
  return std::nullopt;
}

class event_log_subscription_store final : public subscription_store {
public:
  event_log_subscription_store(std::shared_ptr<event_store> store, std::shared_ptr<id_generator> ids)
    : store_(std::move(store)), ids_(std::move(ids)) {}

  ~event_log_subscription_store() override {
    if (feed_)
      feed_->stop();
  }

  /// Folds the subscription streams up to the log's head, then follows them from there.
  void start() {
    auto feed = follow_category(*store_, "subscription", [this](const recorded_event& e) { apply(e); });
    if (feed)
      feed_ = std::move(*feed);
    else // the database is down at start: follow everything from the start, as it comes back
      feed_ = store_->subscribe(0, [this](const recorded_event& e) { apply(e); });
  }

  result<void> record(const subscription_id& id, const tenant_id& tenant, const std::string& principal,
                      const std::vector<subscription_event>& events, std::int64_t expected) override {
    event_metadata md;
    md.tenant = tenant.str();
    md.principal = principal;
    std::vector<new_event> out;
    try {
      for (auto& e : events) {
        auto payload = canonical_json_object(std::visit([](auto& x) { return payload_of(x).dump(); }, e));
        if (!payload)
          return payload.err();
        out.push_back(new_event{event_id{ids_->next_uuid()}, type_name(e), 1, std::move(*payload), md});
      }
    } catch (const json::exception& ex) {
      return make_error(errc::invalid_argument, std::string{"cannot encode the subscription: "} + ex.what());
    }
    auto appended = store_->append({notifications::subscription::stream_of(id), expected_version::exactly(expected), std::move(out)});
    if (!appended)
      return appended.err();
    // Our own write is visible at once, whether or not the subscription got there first.
    auto fresh = store_->read_stream(notifications::subscription::stream_of(id), 0);
    if (fresh)
      for (auto& e : *fresh)
        apply(e);
    return {};
  }

  result<subscription_state> load(const subscription_id& id) override {
    std::lock_guard<std::mutex> lock{mtx_};
    auto it = states_.find(id.str());
    return it == states_.end() ? subscription_state{} : it->second;
  }

  std::vector<subscription_state> all() override {
    std::lock_guard<std::mutex> lock{mtx_};
    std::vector<subscription_state> out;
    for (auto& [position, id] : order_)
      out.push_back(states_.at(id));
    return out;
  }

private:
  /// Folds one event in; idempotent by stream version, never fails: events of other
  /// categories and payloads it cannot read change nothing.
  void apply(const recorded_event& e) {
    if (stream_category(e.stream) != category)
      return;
    auto decoded = decode(e);
    std::lock_guard<std::mutex> lock{mtx_};
    auto id = e.stream.str().substr(category.size() + 1);
    auto& s = states_[id];
    if (e.stream_version <= s.version)
      return;
    s.version = e.stream_version;
    if (!decoded)
      return;
    if (std::holds_alternative<subscription_created>(*decoded)) {
      if (s.exists || std::get<subscription_created>(*decoded).id.str() != id)
        return;
      s.created_position = e.position;
      order_.emplace(e.position, id);
    } else if (!s.exists) {
      return;
    }
    s = notifications::subscription::evolve(std::move(s), *decoded);
  }

  std::shared_ptr<event_store> store_;
  std::shared_ptr<id_generator> ids_;
  std::mutex mtx_;
  std::map<std::string, subscription_state> states_;
  std::map<std::int64_t, std::string> order_;
  std::unique_ptr<aetherium::subscription> feed_; ///< Last: stopped before the states go away.
};

} // namespace

std::shared_ptr<subscription_store> make_event_log_subscription_store(std::shared_ptr<event_store> store,
                                                                     std::shared_ptr<id_generator> ids) {
  auto s = std::make_shared<event_log_subscription_store>(std::move(store), std::move(ids));
  s->start();
  return s;
}

} // namespace aetherium
