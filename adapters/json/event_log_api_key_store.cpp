#include "adapters/json/event_log_api_key_store.hpp"

#include <map>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/canonical_json.hpp"

namespace aetherium {

namespace {

using json = nlohmann::json;

constexpr std::string_view category = "apikey"; ///< Streams are "apikey-<id>".
constexpr const char* created_type = "apikey.created";
constexpr const char* revoked_type = "apikey.revoked";
constexpr int schema = 1;
constexpr const char* writer = "cli";
constexpr std::size_t catch_up_page = 1000;
/// Least time between two catch-up reads made for unknown keys.
constexpr std::chrono::milliseconds catch_up_interval{100};

stream_id stream_of(const apikey_id& id) {
  return stream_id{std::string{category} + "-" + id.str()};
}

/// The `apikey.created` payload; invalid_argument when a field is not valid UTF-8.
result<std::string> created_payload(const api::api_key_record& r) {
  try {
    json p = {{"id", r.id.str()},
              {"tenant", r.tenant.str()},
              {"role", api::to_string(r.role)},
              {"name", r.name},
              {"secret_hash", r.secret_hash},
              {"created_at_us", r.created_at_us}};
    return canonical_json_object(p.dump());
  } catch (const json::exception& e) {
    return make_error(errc::invalid_argument, std::string{"cannot encode the API key: "} + e.what());
  }
}

/// The key an `apikey.created` event of `stream` describes; nothing when the payload is
/// not one we can read (missing or mistyped fields, an unknown role, another stream's id).
std::optional<api::api_key_record> decode_created(const stream_id& stream, const std::string& payload) {
  try {
    auto p = json::parse(payload);
    api::api_key_record r;
    r.id = apikey_id{p.at("id").get<std::string>()};
    r.tenant = tenant_id{p.at("tenant").get<std::string>()};
    if (!api::parse_role(p.at("role").get<std::string>(), r.role))
      return std::nullopt;
    r.name = p.at("name").get<std::string>();
    r.secret_hash = p.at("secret_hash").get<std::string>();
    r.created_at_us = p.at("created_at_us").get<std::int64_t>();
    if (stream != stream_of(r.id))
      return std::nullopt;
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

/// The keys known so far, by id, by hash and by log position (oldest first, whichever
/// order events reach this process in). Every change is idempotent, so an event applied
/// twice (our own write, then the subscription) is harmless. Thread-safe.
class key_index {
public:
  /// True when `r`'s id or hash is taken.
  bool taken(const api::api_key_record& r) {
    std::lock_guard<std::mutex> guard{mtx_};
    return by_id_.count(r.id.str()) > 0 || by_hash_.count(r.secret_hash) > 0;
  }

  /// Records `r`, created at log `position`, unless its id or hash is known already.
  void put(const api::api_key_record& r, std::int64_t position) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (by_id_.count(r.id.str()) > 0 || by_hash_.count(r.secret_hash) > 0)
      return;
    by_hash_[r.secret_hash] = r.id.str();
    by_id_[r.id.str()] = r;
    by_position_[position] = r.id.str();
  }

  void mark_revoked(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto it = by_id_.find(id); it != by_id_.end())
      it->second.revoked = true;
  }

  std::optional<api::api_key_record> by_id(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_id_.find(id);
    return it == by_id_.end() ? std::nullopt : std::optional<api::api_key_record>{it->second};
  }

  std::optional<api::api_key_record> by_hash(const std::string& hash) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_hash_.find(hash);
    return it == by_hash_.end() ? std::nullopt : std::optional<api::api_key_record>{by_id_.at(it->second)};
  }

  std::vector<api::api_key_record> of_tenant(const tenant_id& tenant) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<api::api_key_record> out;
    for (auto& [position, id] : by_position_)
      if (auto& r = by_id_.at(id); r.tenant == tenant)
        out.push_back(r);
    return out;
  }

private:
  std::mutex mtx_;
  std::map<std::string, std::string> by_hash_;
  std::map<std::string, api::api_key_record> by_id_;
  std::map<std::int64_t, std::string> by_position_;
};

class event_log_api_key_store final : public api::api_key_store {
public:
  event_log_api_key_store(std::shared_ptr<event_store> store, std::shared_ptr<clock> clock,
                          std::shared_ptr<id_generator> ids)
    : store_(std::move(store)), clock_(std::move(clock)), ids_(std::move(ids)) {}

  ~event_log_api_key_store() override {
    if (feed_)
      feed_->stop();
  }

  /// Folds the key streams up to the log's head (read by category, not the whole log),
  /// then follows the log from there.
  void start() {
    std::int64_t at = 0;
    if (auto head = store_->head_position()) {
      while (at < *head) {
        auto page = store_->read_category(std::string{category}, at, catch_up_page);
        if (!page || page->empty())
          break;
        for (auto& e : *page)
          if (e.position <= *head)
            apply(e);
        at = page->back().position;
      }
      at = *head;
      for (auto seen = seen_.load(); seen < at && !seen_.compare_exchange_weak(seen, at);)
        ;
    }
    feed_ = store_->subscribe(at, [this](const recorded_event& e) { apply(e); });
  }

  // api::api_key_store

  result<void> add(const api::api_key_record& record) override {
    // One write at a time, so two adds of the same hash cannot both pass the check.
    std::lock_guard<std::mutex> writing{write_mtx_};
    if (index_.taken(record))
      return make_error(errc::conflict, "an API key with this id or secret exists");
    auto payload = created_payload(record);
    if (!payload)
      return payload.err();
    auto appended = append(record.id, record.tenant, created_type, std::move(*payload), expected_version::no_stream());
    if (!appended)
      return appended.err();
    index_.put(record, appended->first_position);
    return {};
  }

  result<api::api_key_record> find_by_hash(const std::string& secret_hash) override {
    if (auto found = index_.by_hash(secret_hash))
      return std::move(*found);
    // A key another process created a moment ago may not have reached the subscription
    // yet: read what follows the last event seen, then look again.
    if (catch_up_now()) {
      if (auto found = index_.by_hash(secret_hash))
        return std::move(*found);
    }
    return make_error(errc::not_found, "no such API key");
  }

  std::vector<api::api_key_record> list(const tenant_id& tenant) override { return index_.of_tenant(tenant); }

  result<void> revoke(const tenant_id& tenant, const apikey_id& id) override {
    std::lock_guard<std::mutex> writing{write_mtx_};
    auto found = index_.by_id(id.str());
    if (!found || found->tenant != tenant)
      return make_error(errc::not_found, "no API key " + id.str());
    if (found->revoked)
      return {};
    auto payload = canonical_json_object(json{{"at_us", clock_->now_us()}}.dump());
    if (!payload)
      return payload.err();
    auto appended = append(id, tenant, revoked_type, std::move(*payload), expected_version::any());
    if (!appended)
      return appended.err();
    index_.mark_revoked(id.str());
    return {};
  }

private:
  result<append_result> append(const apikey_id& id, const tenant_id& tenant, const char* type, std::string payload,
                               expected_version expected) {
    event_metadata md;
    md.tenant = tenant.str();
    md.principal = writer;
    new_event e{event_id{ids_->next_uuid()}, type, schema, std::move(payload), std::move(md)};
    return store_->append({stream_of(id), expected, {std::move(e)}});
  }

  /// Reads one page after the last event seen, at most every `catch_up_interval` (so a
  /// flood of unknown keys costs the database little). False when it did not read.
  bool catch_up_now() {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_catch_up_.load();
    if (now - last < std::chrono::nanoseconds(catch_up_interval).count()
        || !last_catch_up_.compare_exchange_strong(last, now))
      return false;
    auto page = store_->read_category(std::string{category}, seen_.load(), catch_up_page);
    if (!page)
      return false;
    for (auto& e : *page)
      apply(e);
    return true;
  }

  /// Folds one event of the log into the index. Like every projection it never fails:
  /// events of other categories, later schemas and payloads it cannot read change nothing.
  void apply(const recorded_event& e) {
    for (auto at = seen_.load(); at < e.position && !seen_.compare_exchange_weak(at, e.position);)
      ;
    if (stream_category(e.stream) != category || e.schema_version != schema)
      return;
    if (e.type == created_type) {
      if (auto r = decode_created(e.stream, e.payload))
        index_.put(*r, e.position);
    } else if (e.type == revoked_type) {
      index_.mark_revoked(e.stream.str().substr(category.size() + 1));
    }
  }

  std::shared_ptr<event_store> store_;
  std::shared_ptr<clock> clock_;
  std::shared_ptr<id_generator> ids_;
  std::mutex write_mtx_;
  key_index index_;
  std::atomic<std::int64_t> seen_{0};          ///< Highest log position applied.
  std::atomic<std::int64_t> last_catch_up_{0}; ///< steady_clock ticks of the last catch-up read.
  std::unique_ptr<subscription> feed_; ///< Last: stopped before the index goes away.
};

} // namespace

std::shared_ptr<api::api_key_store> make_event_log_api_key_store(std::shared_ptr<event_store> store,
                                                                 std::shared_ptr<clock> clock,
                                                                 std::shared_ptr<id_generator> ids) {
  auto keys = std::make_shared<event_log_api_key_store>(std::move(store), std::move(clock), std::move(ids));
  keys->start();
  return keys;
}

} // namespace aetherium
