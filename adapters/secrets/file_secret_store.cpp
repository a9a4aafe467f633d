#include "adapters/secrets/file_secret_store.hpp"

#include <fstream>
#include <sstream>

namespace aetherium {

namespace {

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos
         && name.find('\0') == std::string::npos;
}

/// secret_store
class file_secret_store : public secret_store {
public:
  explicit file_secret_store(std::string dir) : dir_(std::move(dir)) {}

  result<std::string> get(const tenant_id& tenant, const std::string& name) override {
    if (!plain_name(tenant.str()) || !plain_name(name))
      return make_error(errc::not_found, "no secret " + name);
    std::ifstream in{dir_ + "/" + tenant.str() + "/" + name, std::ios::binary};
    if (!in)
      return make_error(errc::not_found, "no secret " + name);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
      return make_error(errc::unavailable, "secret " + name + " cannot be read");
    return text.str();
  }

private:
  std::string dir_;
};

} // namespace

std::shared_ptr<secret_store> make_file_secret_store(std::string dir) {
  return std::make_shared<file_secret_store>(std::move(dir));
}

} // namespace aetherium
