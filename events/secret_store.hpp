#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium {

/// Reads the values of a tenant's secrets, which tasks name and sandboxes receive as files.
///
/// Implementations may block (they read files or a vault): call them off CAF's shared
/// scheduler. Thread-safe.
class secret_store {
public:
  virtual ~secret_store() = default;

  /// The value of secret `name` of `tenant`. Errors: not_found (no such secret, or a name
  /// that is not one plain file name), unavailable (the store cannot be read now).
  virtual result<std::string> get(const tenant_id& tenant, const std::string& name) = 0;
};

/// Secrets held in memory, for tests: put() adds or replaces one.
class memory_secret_store : public secret_store {
public:
  void put(const tenant_id& tenant, const std::string& name, std::string value) {
    std::lock_guard<std::mutex> lock(mtx_);
    values_[{tenant.str(), name}] = std::move(value);
  }

  result<std::string> get(const tenant_id& tenant, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mtx_);
    auto it = values_.find({tenant.str(), name});
    if (it == values_.end())
      return make_error(errc::not_found, "no secret " + name);
    return it->second;
  }

private:
  std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, std::string> values_;
};

inline std::shared_ptr<memory_secret_store> make_memory_secret_store() {
  return std::make_shared<memory_secret_store>();
}

} // namespace aetherium
