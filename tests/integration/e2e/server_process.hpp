#pragma once
// Test-only: runs the real `aetherium server` binary against a test database, with a
// private data directory, a busybox sandbox image and a local bare repository.

#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mount.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/client/api_client.hpp"
#include "tests/support/run_command.hpp"

namespace aetherium::testing {

/// The busybox sandbox image, built (once per machine) by the deploy script.
inline std::string busybox_image() {
  auto out = run_command("sh " AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  auto path = out.output.substr(0, out.output.find_last_not_of("\n") + 1);
  return path.substr(path.rfind('\n') + 1);
}

/// A bare repository at `repo` (made through `work`/init) holding greeting.txt ("Hello,
/// world") and check.sh, a verify script that passes once greeting.txt says Aetherium.
inline command_output make_sample_repository(const std::string& work, const std::string& repo) {
  return run_command("set -e; d='" + work + "/init'; mkdir -p \"$d\"; cd \"$d\"; git init -q -b main;"
                     "printf 'Hello, world\\n' > greeting.txt;"
                     "printf '#!/bin/sh\\ngrep -q Aetherium greeting.txt\\n' > check.sh;"
                     "git add -A; git -c user.name=t -c user.email=t@e commit -qm init;"
                     "git clone -q --bare . '" + repo + "'");
}

/// The sample repository (make_sample_repository) at `<work>/acme/sample.git`: in tenant
/// acme's directory below the repo root the test servers use. Fails the test when git does.
inline std::string sample_repository_in(const std::string& work) {
  auto repo = work + "/acme/sample.git";
  auto made = make_sample_repository(work, repo);
  EXPECT_EQ(made.exit_code, 0) << made.output;
  return repo;
}

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Polls task `id` through `api` until `done` holds for its view, for at most `seconds`;
/// fails the test with the last view seen.
inline nlohmann::json wait_for_task(http::api_client& api, const std::string& id,
                                    const std::function<bool(const nlohmann::json&)>& done, int seconds = 120) {
  nlohmann::json t;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = api.get_task(id);
    if (r && !r->empty() && r->front() == '{' && done(t = nlohmann::json::parse(*r)))
      return t;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << "task " << id << " never got there; last seen: " << t.dump();
  return t;
}

/// The types of task `id`'s events, in order; fails the test when they cannot be read.
/// Creates the project "sample" over `repo` and returns its id ("" and a test failure
/// when it cannot).
inline std::string create_sample_project(http::api_client& api, const std::string& repo) {
  auto project = api.create_project(nlohmann::json{{"name", "sample"}, {"repo", repo}}.dump());
  EXPECT_TRUE(project.ok()) << (project.ok() ? "" : project.err().detail);
  return project.ok() ? nlohmann::json::parse(*project).at("id").get<std::string>() : "";
}

inline std::vector<std::string> task_event_types(http::api_client& api, const std::string& id) {
  std::vector<std::string> out;
  auto r = api.task_events(id);
  if (!r) {
    ADD_FAILURE() << "events of " << id << ": " << r.err().detail;
    return out;
  }
  auto page = nlohmann::json::parse(*r, nullptr, false);
  if (!page.is_object() || !page.contains("events")) {
    ADD_FAILURE() << "events of " << id << ": " << *r;
    return out;
  }
  for (auto& e : page.at("events"))
    out.push_back(e.at("type"));
  return out;
}

/// Whether a task view shows an end: completed, failed or terminated.
inline bool ended(const nlohmann::json& t) {
  auto s = t.value("status", "");
  return s == "completed" || s == "failed" || s == "terminated";
}

/// A temporary directory removed at the end of the test.
struct temp_dir {
  std::string path;
  temp_dir() {
    auto* base = std::getenv("AETHERIUM_TEST_WORK_DIR");
    std::string pattern = std::string{base && *base ? base : "/tmp"} + "/e2e.XXXXXX";
    path = ::mkdtemp(pattern.data());
    std::filesystem::permissions(path, std::filesystem::perms::all);
  }
  ~temp_dir() {
    // A server killed while its tasks ran leaves their workspace filesystems mounted (its
    // next start would release them; a test that ends there has no next start).
    std::ifstream mounts{"/proc/mounts"};
    std::vector<std::string> below;
    for (std::string device, point, rest; mounts >> device >> point && std::getline(mounts, rest);)
      if (point.rfind(path + "/", 0) == 0)
        below.push_back(point);
    for (auto it = below.rbegin(); it != below.rend(); ++it)
      ::umount2(it->c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// One `aetherium server` process.
class server_process {
public:
  server_process(std::string database_url, std::string data_dir, std::string image, std::string extra_env = {})
    : url_(std::move(database_url)), data_(std::move(data_dir)), image_(std::move(image)), env_(std::move(extra_env)) {}
  ~server_process() { kill(SIGKILL); }

  /// Starts the binary and waits until /healthz answers. Fails the test with the log tail.
  /// `same_port`: listen where the previous start did (clients reconnect to it).
  void start(bool same_port = false) {
    std::filesystem::create_directories(data_);
    if (!same_port || port_ == 0)
      port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      auto log = data_ + "/server.log";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setenv("AETHERIUM_DATABASE_URL", url_.c_str(), 1);
      ::setenv("AETHERIUM_DATA_DIR", data_.c_str(), 1);
      ::setenv("AETHERIUM_IMAGE", image_.c_str(), 1);
      ::setenv("AETHERIUM_LISTEN", ("127.0.0.1:" + std::to_string(port_)).c_str(), 1);
      ::setenv("AETHERIUM_GITHUB_WEBHOOK_SECRET", webhook_secret(), 1);
      // The test's repositories live beside the data directory.
      ::setenv("AETHERIUM_REPO_ROOTS", std::filesystem::path(data_).parent_path().c_str(), 1);
      ::execl("/bin/sh", "sh", "-c", (env_ + " exec " AETHERIUM_BINARY " server").c_str(), nullptr);
      ::_exit(127);
    }
    http::api_client probe{{base_url()}};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = probe.request("GET", "/healthz");
      if (r && r->status == 200)
        return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "the server exited at start:\n" << log_tail();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the server did not answer /healthz within 60 s:\n" << log_tail();
  }

  void kill(int sig) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  static const char* webhook_secret() { return "e2e-webhook-secret"; }
  std::string log_tail() const { return run_command("tail -n 40 '" + data_ + "/server.log'").output; }

  /// `aetherium <args>` against the same database and data directory.
  command_output cli(const std::string& args) const {
    return run_command("AETHERIUM_DATABASE_URL='" + url_ + "' AETHERIUM_DATA_DIR='" + data_ + "' " AETHERIUM_BINARY " "
                       + args);
  }

  /// A fresh admin key of `tenant`, made by the CLI over the event log.
  std::string admin_key(const std::string& tenant) const {
    auto out = cli("admin create-key --tenant " + tenant + " --role admin --name e2e --json");
    EXPECT_EQ(out.exit_code, 0) << out.output;
    auto at = out.output.find('{');
    if (at == std::string::npos)
      return {};
    return nlohmann::json::parse(out.output.substr(at)).value("key", "");
  }

private:
  std::string url_, data_, image_, env_;
  pid_t pid_ = -1;
  int port_ = 0;
};

} // namespace aetherium::testing
