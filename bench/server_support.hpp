#pragma once
// What the benchmarks that drive the real `aetherium server` share: running commands and
// starting the server as a child process on a port of its choosing.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace aetherium::bench {

[[noreturn]] inline void fail(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

inline std::string run(const std::string& command) {
  std::string out;
  auto* p = ::popen(command.c_str(), "r");
  if (!p)
    fail("cannot run " + command);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  if (::pclose(p) != 0)
    fail(command + " failed:\n" + out);
  return out;
}

/// The real server as a child process on a port of its choosing.
struct server_child {
  pid_t pid = -1;
  int port = 0;
  ~server_child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

inline void start_server(server_child& s, const std::string& env, const std::string& log) {
  s.pid = ::fork();
  if (s.pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // gone with the bench, also when it ends through fail()
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl("/bin/sh", "sh", "-c", (env + " exec " AETHERIUM_BINARY " server").c_str(), nullptr);
    ::_exit(127);
  }
  std::regex listening{"listening on [^\\n]*:([0-9]+)"};
  for (int i = 0; i < 600; ++i) {
    std::smatch m;
    std::ifstream in{log};
    std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    if (std::regex_search(text, m, listening)) {
      s.port = std::stoi(m[1]);
      return;
    }
    if (::waitpid(s.pid, nullptr, WNOHANG) == s.pid) {
      s.pid = -1;
      fail("the server exited at start:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fail("the server did not start within 60 s");
}

} // namespace aetherium::bench
