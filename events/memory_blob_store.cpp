#include <map>
#include <mutex>

#include "events/blob_store.hpp"

namespace aetherium {

namespace {

class memory_blob_store : public blob_store {
public:
  result<std::string> put(std::string_view bytes) override {
    auto ref = blob_ref_of(bytes);
    if (!ref)
      return ref;
    std::lock_guard<std::mutex> guard{mtx_};
    blobs_.try_emplace(*ref, bytes);
    return ref;
  }

  // Bytes held only in this process cannot drift from their ref, so get does not rehash.
  result<std::string> get(const std::string& ref) override {
    if (auto valid = check_blob_ref(ref); !valid)
      return valid.err();
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = blobs_.find(ref);
    if (it == blobs_.end())
      return make_error(errc::not_found, "no blob stored under " + ref, "ref");
    return it->second;
  }

private:
  std::mutex mtx_;
  std::map<std::string, std::string> blobs_;
};

} // namespace

std::shared_ptr<blob_store> make_memory_blob_store() {
  return std::make_shared<memory_blob_store>();
}

} // namespace aetherium
