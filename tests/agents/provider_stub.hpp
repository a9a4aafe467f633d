#pragma once
// Test-only: runs one of the provider API stubs of tests/agents/stubs (python3) on a free
// loopback port and reads back the requests it logged.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace aetherium::testing {

/// One stub process: "anthropic", "openai" or "gemini". `dir` holds its port and log files.
class provider_stub {
public:
  provider_stub(std::string provider, std::string dir, std::string key, std::vector<std::string> extra = {})
    : provider_(std::move(provider)), dir_(std::move(dir)), key_(std::move(key)), extra_(std::move(extra)) {}
  ~provider_stub() { stop(); }
  provider_stub(const provider_stub&) = delete;
  provider_stub& operator=(const provider_stub&) = delete;

  /// Starts it and waits (10 s at most) until it listens. Fails the test otherwise.
  void start() {
    std::filesystem::create_directories(dir_);
    auto port_file = dir_ + "/" + provider_ + ".port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args{"python3", script(), "--port-file", port_file, "--log", log_path(),
                                  "--expect-key", key_};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      auto out = dir_ + "/" + provider_ + ".out";
      std::FILE* f = std::fopen(out.c_str(), "a");
      if (f) {
        ::dup2(::fileno(f), 1);
        ::dup2(::fileno(f), 2);
      }
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("python3", argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in{port_file};
      if (in >> port_ && port_ > 0)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the " << provider_ << " stub did not start (python3 " << script() << ")";
  }

  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& provider() const { return provider_; }
  std::string log_path() const { return dir_ + "/" + provider_ + ".log"; }

  /// Every request the stub saw, in order.
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    std::ifstream in{log_path()};
    for (std::string line; std::getline(in, line);)
      if (!line.empty())
        out.push_back(nlohmann::json::parse(line, nullptr, false));
    return out;
  }

  /// The requests that reported usage: the model calls that were billed.
  std::vector<nlohmann::json> billed() const {
    std::vector<nlohmann::json> out;
    for (auto& r : requests())
      if (r.is_object() && r.contains("usage") && r["usage"].value("input_tokens", 0) + r["usage"].value("output_tokens", 0) > 0)
        out.push_back(r);
    return out;
  }

private:
  std::string script() const { return std::string{AETHERIUM_SOURCE_DIR} + "/tests/agents/stubs/" + provider_ + "_stub.py"; }

  std::string provider_, dir_, key_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int port_ = 0;
};

} // namespace aetherium::testing
