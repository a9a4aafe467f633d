#include <cctype>
#include <filesystem>

#include "adapters/git/git_adapters.hpp"
#include "adapters/git/git_command.hpp"
#include "events/api/validation.hpp"

namespace aetherium::git {

namespace {

std::string lowercase(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// The host (with ":port" if given) of "https://[user@]host[:port]/..." or
/// "ssh://[user@]host[:port]/..."; empty when `url` is not one.
std::string url_host(const std::string& url, const std::string& scheme) {
  auto prefix = scheme + "://";
  if (lowercase(url.substr(0, prefix.size())) != prefix)
    return {};
  auto rest = url.substr(prefix.size());
  auto authority = rest.substr(0, rest.find('/'));
  if (authority.size() == rest.size() || authority.empty())
    return {};
  auto at = authority.rfind('@');
  auto host = lowercase(at == std::string::npos ? authority : authority.substr(at + 1));
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':')
      return {};
  return host;
}

/// The host of git's scp-like "user@host:path" syntax; empty when `repo` is not one.
std::string scp_host(const std::string& repo) {
  auto at = repo.find('@');
  auto colon = repo.find(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at || repo.find('/') < colon)
    return {};
  auto host = lowercase(repo.substr(at + 1, colon - at - 1));
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      return {};
  return host;
}

bool host_allowed(const std::string& host, const std::vector<std::string>& hosts) {
  for (const auto& h : hosts)
    if (lowercase(h) == host)
      return true;
  return false;
}

result<void> check_local(const std::string& repo, const tenant_id& tenant, const repository_policy& policy) {
  std::string path = repo.rfind("file://", 0) == 0 ? repo.substr(7) : repo;
  if (path.empty() || path[0] != '/')
    return make_error(errc::invalid_argument, "a local repository must be an absolute path: " + repo, "repo");
  if (policy.local_roots.empty())
    return {};
  if (!api::valid_id(tenant.str()))
    return make_error(errc::invalid_argument, "bad tenant id", "tenant");
  std::error_code ec;
  auto resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec)
    return make_error(errc::invalid_argument, "cannot resolve " + repo + ": " + ec.message(), "repo");
  std::string allowed;
  for (const auto& root : policy.local_roots) {
    auto base = std::filesystem::weakly_canonical(std::filesystem::path{root} / tenant.str(), ec);
    allowed += (allowed.empty() ? "" : ", ") + root + "/" + tenant.str() + "/";
    if (ec || base.empty())
      continue;
    auto rel = resolved.lexically_relative(base);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".")
      return {};
  }
  return make_error(errc::forbidden, "local repository " + repo + " is outside the tenant's repository roots (" +
                                       allowed + "; see --repo-roots)", "repo");
}

} // namespace

result<void> check_repository(const std::string& repo, const tenant_id& tenant, const repository_policy& policy) {
  if (repo.empty() || repo[0] == '-')
    return make_error(errc::invalid_argument, "repository must be a URL or a path", "repo");
  if (repo[0] == '/' || repo.rfind("file://", 0) == 0)
    return check_local(repo, tenant, policy);
  auto host = url_host(repo, "https");
  bool ssh = false;
  if (host.empty()) {
    host = url_host(repo, "ssh");
    if (host.empty())
      host = scp_host(repo);
    ssh = true;
  }
  if (host.empty())
    return make_error(errc::invalid_argument, "repository must be an https:// URL or a local path (" + repo + ")", "repo");
  if (ssh && !policy.allow_ssh)
    return make_error(errc::invalid_argument, "ssh repositories are not enabled on this server (" + repo + ")", "repo");
  if (!host_allowed(host, policy.remote_hosts))
    return make_error(errc::forbidden, "repository host " + host + " is not allowed (see --repo-hosts)", "repo");
  return {};
}

} // namespace aetherium::git

namespace aetherium {

api::repository_check make_repository_check(repository_policy policy) {
  return [policy = std::move(policy)](const std::string& repo, const tenant_id& tenant) {
    return git::check_repository(repo, tenant, policy);
  };
}

} // namespace aetherium
