#include "adapters/sandbox/spec_checks.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "adapters/sandbox/egress_policy.hpp"
#include "adapters/sandbox/egress_request.hpp"
#include "adapters/sandbox/host_mounts.hpp"

namespace aetherium::sandbox {

namespace fs = std::filesystem;

namespace {

/// The host of an "http://host:port" URL the adapter made.
std::string url_host(const std::string& url) {
  std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  return rest.substr(0, rest.rfind(':'));
}

/// The entries of both no-proxy spellings in `env`, then `host`, without repeats: tools read
/// one spelling or the other, so both get the whole list.
std::string no_proxy_list(const std::map<std::string, std::string>& env, const std::string& host) {
  std::vector<std::string> entries;
  auto add = [&entries](std::string entry) {
    auto first = entry.find_first_not_of(" \t");
    if (first == std::string::npos) return;
    entry = entry.substr(first, entry.find_last_not_of(" \t") - first + 1);
    if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(entry);
  };
  for (const char* name : {"NO_PROXY", "no_proxy"}) {
    auto it = env.find(name);
    if (it == env.end()) continue;
    std::size_t start = 0;
    for (auto comma = it->second.find(','); ; comma = it->second.find(',', start)) {
      add(it->second.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  add(host);
  std::string list;
  for (const auto& entry : entries) list += (list.empty() ? "" : ",") + entry;
  return list;
}

bool valid_env_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(name[0]));
}

} // namespace

result<void> validate_request(const exec_request& request) {
  // execve takes NUL-terminated strings: a NUL inside one would cut it short.
  auto has_nul = [](const std::string& text) { return text.find('\0') != std::string::npos; };
  if (request.argv.empty() || request.argv[0].empty())
    return make_error(errc::invalid_argument, "argv must not be empty", "argv");
  if (std::any_of(request.argv.begin(), request.argv.end(), has_nul))
    return make_error(errc::invalid_argument, "argv must not contain NUL", "argv");
  if (request.cwd.empty() || request.cwd[0] != '/' || has_nul(request.cwd))
    return make_error(errc::invalid_argument, "cwd must be absolute, without NUL", "cwd");
  for (const auto& [name, value] : request.env)
    if (!valid_env_name(name) || has_nul(value))
      return make_error(errc::invalid_argument, "bad environment variable '" + name + "'", "env");
  return {};
}

bool is_absolute_dir(const std::string& path) {
  struct stat st {};
  return !path.empty() && path[0] == '/' && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string find_in_path(const std::string& name) {
  if (name.empty()) return {};
  if (name[0] == '/') return ::access(name.c_str(), X_OK) == 0 ? name : std::string{};
  const char* env = std::getenv("PATH");
  std::string path = std::string(env ? env : "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

std::string find_helper_binary(const std::string& configured, const char* env_name, const std::string& name) {
  if (!configured.empty()) return ::access(configured.c_str(), X_OK) == 0 ? configured : "";
  if (const char* env = std::getenv(env_name); env && *env)
    return ::access(env, X_OK) == 0 ? env : "";
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<std::string> candidates;
  if (!ec) candidates.push_back((self.parent_path() / name).string());
  candidates.push_back("/usr/libexec/aetherium/" + name);
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return {};
}

result<void> validate_sandbox_spec(const sandbox_spec& spec) {
  if (!is_absolute_dir(spec.rootfs_dir))
    return make_error(errc::invalid_argument, "rootfs_dir must be an existing absolute directory", "rootfs_dir");
  if (!is_absolute_dir(spec.workspace_dir))
    return make_error(errc::invalid_argument, "workspace_dir must be an existing absolute directory", "workspace_dir");
  if (spec.uid == 0 || spec.gid == 0)
    return make_error(errc::invalid_argument, "sandboxes never run as root", "uid");
  for (const auto& [name, value] : spec.secrets)
    if (!valid_secret_name(name))
      return make_error(errc::invalid_argument, "bad secret name '" + name + "'", "secrets");
  if (spec.network.kind == network_policy::mode::allow_list) {
    if (spec.network.allowed_hosts.empty())
      return make_error(errc::invalid_argument, "an allow list needs hosts", "network");
    for (const auto& host : spec.network.allowed_hosts)
      if (!valid_allowed_host(host))
        return make_error(errc::invalid_argument, "bad allowed host '" + host + "'", "network");
  }
  if (!spec.gateway_socket.empty() && !valid_gateway_socket(spec.gateway_socket))
    return make_error(errc::invalid_argument,
                      "gateway_socket must be an absolute path of at most 107 bytes without control characters",
                      "gateway_socket");
  if (spec.limits.workspace_bytes != 0 && spec.limits.workspace_bytes < (1ull << 20))
    return make_error(errc::invalid_argument, "workspace_bytes must be at least 1 MiB", "limits");
  return {};
}

std::vector<std::string> sandbox_environment(const exec_request& request, const std::string& proxy_url,
                                             const std::string& gateway_url) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", "/tmp"},
  };
  if (!proxy_url.empty())
    for (const char* name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"})
      env[name] = proxy_url;
  for (const auto& [name, value] : request.env) env[name] = value;
  // The gateway is the sandbox's own: a request names it only through this variable, and
  // reaches it directly, not through the proxy (which refuses addresses).
  if (!gateway_url.empty()) {
    env["AETHERIUM_MODEL_GATEWAY"] = gateway_url;
    std::string direct = no_proxy_list(env, url_host(gateway_url));
    env["NO_PROXY"] = env["no_proxy"] = direct;
  }
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}


} // namespace aetherium::sandbox
