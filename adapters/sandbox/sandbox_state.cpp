#include "adapters/sandbox/sandbox_state.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "adapters/sandbox/oci_bundle.hpp"

namespace aetherium::sandbox {

std::string new_sandbox_id() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%012llx",
                static_cast<unsigned long long>(gen() & 0xffffffffffffull));
  return std::string("ae-") + buf;
}

bool valid_sandbox_id(const std::string& id) {
  if (id.size() != 15 || id.compare(0, 3, "ae-") != 0) return false;
  for (std::size_t i = 3; i < id.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  return true;
}

result<void> write_meta(const std::string& dir, const sandbox_meta& meta) {
  nlohmann::json doc = {
      {"id", meta.id},
      {"runtime", to_string(meta.runtime)},
      {"labels", meta.labels},
      {"cgroup_path", meta.cgroup_path},
      {"workspace_root", meta.workspace_root},
      {"uid", meta.uid},
      {"gid", meta.gid},
      {"pids", meta.pids},
      {"egress_proxy", meta.egress_proxy},
      {"proxy_url", meta.proxy_url},
      {"gateway_socket", meta.gateway_socket},
      {"gateway_url", meta.gateway_url},
      {"created_unix", meta.created_unix},
  };
  std::string text;
  if (!to_json_text(doc, text, 2))
    return make_error(errc::invalid_argument, "labels and paths must be UTF-8", "labels");
  std::string tmp = dir + "/meta.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << '\n';
    if (!out.flush()) return make_error(errc::unavailable, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), (dir + "/meta.json").c_str()) != 0)
    return make_error(errc::unavailable, "rename meta.json: " + std::string(std::strerror(errno)));
  return {};
}

result<sandbox_meta> read_meta(const std::string& dir) {
  std::ifstream in(dir + "/meta.json");
  if (!in) return make_error(errc::not_found, "no meta.json in " + dir);
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(errc::corrupt, dir + "/meta.json is not JSON");
  sandbox_meta meta;
  meta.id = doc.value("id", "");
  if (!valid_sandbox_id(meta.id) ||
      !parse_sandbox_runtime_kind(doc.value("runtime", ""), meta.runtime))
    return make_error(errc::corrupt, dir + "/meta.json has a bad id or runtime");
  if (doc.contains("labels") && doc["labels"].is_object())
    for (auto& [k, v] : doc["labels"].items())
      if (v.is_string()) meta.labels[k] = v.get<std::string>();
  meta.cgroup_path = doc.value("cgroup_path", "");
  meta.workspace_root = doc.value("workspace_root", "");
  meta.uid = doc.value("uid", 65534u);
  meta.gid = doc.value("gid", 65534u);
  meta.pids = doc.value("pids", 128u);
  meta.egress_proxy = doc.value("egress_proxy", false);
  meta.proxy_url = doc.value("proxy_url", "");
  meta.gateway_socket = doc.value("gateway_socket", "");
  meta.gateway_url = doc.value("gateway_url", "");
  meta.created_unix = doc.value("created_unix", std::int64_t{0});
  return meta;
}

} // namespace aetherium::sandbox
