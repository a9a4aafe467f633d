#include "adapters/secrets/file_subscription_secrets.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aetherium {

namespace {

namespace fs = std::filesystem;
using notifications::subscription_id;

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos
         && name.find('\0') == std::string::npos;
}

/// notifications::subscription_secrets
class file_subscription_secrets : public notifications::subscription_secrets {
public:
  explicit file_subscription_secrets(std::string dir) : dir_(std::move(dir)) {}

  result<void> put(const tenant_id& tenant, const subscription_id& id, const std::string& secret) override {
    if (!plain_name(tenant.str()) || !plain_name(id.str()))
      return make_error(errc::invalid_argument, "not a plain name: " + tenant.str() + "/" + id.str());
    auto dir = dir_ + "/" + tenant.str();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return make_error(errc::unavailable, "cannot create " + dir + ": " + ec.message());
    ::chmod(dir_.c_str(), 0700);
    ::chmod(dir.c_str(), 0700);
    // Written beside, then renamed: a reader sees the old secret or the new one, whole.
    auto path = dir + "/" + id.str();
    auto temp = path + ".new";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      return make_error(errc::unavailable, "cannot write " + temp + ": " + std::strerror(errno));
    bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
      ::unlink(temp.c_str());
      return make_error(errc::unavailable, "cannot write " + path + ": " + std::strerror(errno));
    }
    return {};
  }

  result<std::string> get(const tenant_id& tenant, const subscription_id& id) override {
    if (!plain_name(tenant.str()) || !plain_name(id.str()))
      return make_error(errc::not_found, "no secret for subscription " + id.str());
    std::ifstream in{dir_ + "/" + tenant.str() + "/" + id.str(), std::ios::binary};
    if (!in)
      return make_error(errc::not_found, "no secret for subscription " + id.str());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
      return make_error(errc::unavailable, "the secret of subscription " + id.str() + " cannot be read");
    return text.str();
  }

  result<void> erase(const tenant_id& tenant, const subscription_id& id) override {
    if (!plain_name(tenant.str()) || !plain_name(id.str()))
      return {};
    auto path = dir_ + "/" + tenant.str() + "/" + id.str();
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return make_error(errc::unavailable, "cannot remove " + path + ": " + std::strerror(errno));
    return {};
  }

private:
  std::string dir_;
};

} // namespace

std::shared_ptr<notifications::subscription_secrets> make_file_subscription_secrets(std::string dir) {
  return std::make_shared<file_subscription_secrets>(std::move(dir));
}

} // namespace aetherium
