#include "tests/support/github_stub/github_stub.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>

extern char** environ;

namespace aetherium::testing {

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// Reads one line from `fd` within `timeout`; false on EOF or timeout.
bool read_line(int fd, std::chrono::milliseconds timeout, std::string& line) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0)
      continue;
    auto r = ::read(fd, &c, 1);
    if (r <= 0)
      return false;
    if (c == '\n')
      return true;
    line += c;
  }
  return false;
}

} // namespace

std::string github_fixtures_dir() { return AETHERIUM_GITHUB_FIXTURES; }

std::string read_fixture(const std::string& relative_path) {
  std::ifstream in{github_fixtures_dir() + "/" + relative_path, std::ios::binary};
  if (!in) {
    ADD_FAILURE() << "cannot read fixture " << github_fixtures_dir() << "/" << relative_path;
    return {};
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

/// Starts `args` (argv[0] looked up on PATH) with `stdin_fd` and `stdout_fd` as its
/// stdin and stdout. Returns 0 or an errno value.
int spawn(std::vector<std::string> args, int stdin_fd, int stdout_fd, pid_t& pid) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

} // namespace

github_stub::github_stub() {
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    error_ = std::string{"pipe: "} + std::strerror(errno);
    return;
  }
  std::string script = AETHERIUM_GITHUB_STUB_SCRIPT;
  int rc = spawn({"python3", script, "--operations", github_fixtures_dir() + "/rest/operations.json", "--port", "0",
                  "--exit-on-stdin-eof"},
                 in[0], out[1], pid_);
  ::close(out[1]);
  ::close(in[0]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(in[1]);
    pid_ = -1;
    error_ = std::string{"cannot start python3 (the GitHub stub needs Python 3 on PATH): "} + std::strerror(rc);
    return;
  }
  // The write end of the stub's stdin stays open for our lifetime; if this process dies
  // the stub sees EOF and exits.
  std::string line;
  bool ok = read_line(out[0], std::chrono::seconds{20}, line);
  ::close(out[0]);
  auto at = line.rfind("port ");
  if (!ok || at == std::string::npos) {
    error_ = "the GitHub stub did not start (" + script + "): '" + line + "'";
    ::close(in[1]);
    return;
  }
  port_ = std::stoi(line.substr(at + 5));
  stdin_fd_ = in[1];
}

github_stub::~github_stub() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (stdin_fd_ >= 0)
    ::close(stdin_fd_);
}

std::string github_stub::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

long github_stub::call(const std::string& method, const std::string& path, const std::string& payload,
                       std::string& body) {
  CURL* h = curl_easy_init();
  auto url = base_url() + path;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!payload.empty())
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return status;
}

nlohmann::json github_stub::call_json(const std::string& method, const std::string& path,
                                      const nlohmann::json& payload) {
  std::string body;
  auto status = call(method, path, payload.is_null() ? std::string{} : payload.dump(), body);
  if (status == 404 && method == "GET")
    return nullptr;
  EXPECT_TRUE(status >= 200 && status < 300) << method << " " << path << " -> " << status << " " << body;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json{} : parsed;
}

std::string github_stub::seed_repo(const std::string& full_name, const std::map<std::string, std::string>& files,
                                   const std::string& branch, const std::string& commit_sha) {
  nlohmann::json encoded = nlohmann::json::object();
  for (auto& [path, bytes] : files) {
    static constexpr char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
      std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
      if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
      if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
      b64 += t[(n >> 18) & 63];
      b64 += t[(n >> 12) & 63];
      b64 += i + 1 < bytes.size() ? t[(n >> 6) & 63] : '=';
      b64 += i + 2 < bytes.size() ? t[n & 63] : '=';
    }
    encoded[path] = b64;
  }
  nlohmann::json seed{{"full_name", full_name}, {"default_branch", branch}, {"files_base64", encoded}};
  if (!commit_sha.empty())
    seed["commit_sha"] = commit_sha;
  auto out = call_json("POST", "/_stub/repos", seed);
  return out.value("commit", "");
}

nlohmann::json github_stub::requests() { return call_json("GET", "/_stub/requests").value("requests", nlohmann::json::array()); }

std::vector<nlohmann::json> github_stub::requests_of(const std::string& operation) {
  std::vector<nlohmann::json> out;
  for (auto& r : requests())
    if (r["operation"] == operation)
      out.push_back(r);
  return out;
}

void github_stub::clear_requests() { call_json("DELETE", "/_stub/requests"); }

std::vector<std::string> github_stub::problems() {
  std::vector<std::string> out;
  for (auto& r : requests())
    for (auto& p : r["problems"])
      out.push_back(r["method"].get<std::string>() + " " + r["path"].get<std::string>() + ": " + p.get<std::string>());
  return out;
}

void github_stub::fail(const nlohmann::json& rule) { call_json("POST", "/_stub/fail", rule); }

nlohmann::json github_stub::state(const std::string& repo, const std::string& ref) {
  return call_json("GET", "/_stub/repos/" + repo + "/state?ref=" + ref);
}

nlohmann::json github_stub::pulls(const std::string& repo) { return call_json("GET", "/_stub/repos/" + repo + "/pulls"); }

void github_stub::add_comment_as(const std::string& repo, std::int64_t number, const std::string& login,
                                 const std::string& association, const std::string& body) {
  call_json("POST", "/_stub/repos/" + repo + "/comments",
            {{"issue_number", number}, {"login", login}, {"author_association", association}, {"body", body}});
}

std::string base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0)
      continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

} // namespace aetherium::testing
