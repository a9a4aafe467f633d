#include <algorithm>
#include <map>
#include <mutex>

#include "events/api/api_key_store.hpp"

namespace aetherium::api {

namespace {

class memory_api_key_store : public api_key_store {
public:
  result<void> add(const api_key_record& record) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (by_hash_.count(record.secret_hash) > 0 || by_id_.count(record.id.str()) > 0)
      return make_error(errc::conflict, "an API key with this id or secret exists");
    by_hash_[record.secret_hash] = record.id.str();
    by_id_[record.id.str()] = record;
    order_.push_back(record.id.str());
    return {};
  }

  result<api_key_record> find_by_hash(const std::string& secret_hash) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_hash_.find(secret_hash);
    if (it == by_hash_.end())
      return make_error(errc::not_found, "no such API key");
    return by_id_.at(it->second);
  }

  std::vector<api_key_record> list(const tenant_id& tenant) override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<api_key_record> out;
    for (auto& id : order_)
      if (by_id_.at(id).tenant == tenant)
        out.push_back(by_id_.at(id));
    return out;
  }

  result<void> revoke(const tenant_id& tenant, const apikey_id& id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_id_.find(id.str());
    if (it == by_id_.end() || it->second.tenant != tenant)
      return make_error(errc::not_found, "no API key " + id.str());
    it->second.revoked = true;
    return {};
  }

private:
  std::mutex mtx_;
  std::map<std::string, std::string> by_hash_;
  std::map<std::string, api_key_record> by_id_;
  std::vector<std::string> order_;
};

} // namespace

std::shared_ptr<api_key_store> make_memory_api_key_store() {
  return std::make_shared<memory_api_key_store>();
}

} // namespace aetherium::api
