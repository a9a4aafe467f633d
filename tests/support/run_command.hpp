#pragma once

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace aetherium::testing {

/// What a finished command printed (stdout and stderr together) and its exit code.
struct command_output {
  int exit_code = -1;
  std::string output;
};

/// Runs `command` through /bin/sh (test code only) and waits for it.
inline command_output run_command(const std::string& command) {
  command_output out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    out.output.append(buf, n);
  int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

} // namespace aetherium::testing
