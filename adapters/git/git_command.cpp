#include "adapters/git/git_command.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace aetherium::git {

namespace {

/// Pumps stdin and both output pipes until the child closes them.
void pump(int in_fd, int out_fd, int err_fd, const std::string& input, git_output& out) {
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (::poll(fds, n, -1) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents)
        continue;
      if (fds[i].fd == in_fd) {
        auto w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0)
          written += static_cast<std::size_t>(w);
        if (w < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      auto r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        (fds[i].fd == out_fd ? out.out : out.err).append(buf, static_cast<std::size_t>(r));
      } else {
        ::close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0)
    ::close(in_fd);
}

} // namespace

result<git_output> run_git(const std::vector<std::string>& args, const std::string& cwd,
                           const std::string& input) {
  std::vector<std::string> full = {"git", "-c", "safe.directory=*", "-c", "user.name=Aetherium",
                                   "-c", "user.email=aetherium@localhost", "-c", "core.quotepath=off",
                                   "-C", cwd};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return make_error(errc::unavailable, std::string{"pipe: "} + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "git", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return make_error(errc::unavailable, std::string{"cannot start git: "} + std::strerror(rc));
  }
  git_output result_out;
  pump(in[1], out[0], err[0], input, result_out);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result_out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result_out;
}

result<std::string> git_ok(const std::vector<std::string>& args, const std::string& cwd,
                           const std::string& input) {
  auto res = run_git(args, cwd, input);
  if (!res)
    return res.err();
  if (res->exit_code == 0)
    return std::move(res->out);
  auto& e = res->err;
  auto code = errc::internal;
  if (e.find("not found") != std::string::npos || e.find("does not exist") != std::string::npos
      || e.find("not a git repository") != std::string::npos
      || e.find("did not match any") != std::string::npos
      || e.find("unknown revision") != std::string::npos
      || e.find("Remote branch") != std::string::npos)
    code = errc::not_found;
  else if (e.find("Could not resolve host") != std::string::npos
           || e.find("unable to access") != std::string::npos)
    code = errc::unavailable;
  return make_error(code, "git " + (args.empty() ? std::string{} : args[0]) + " failed: " + e);
}

namespace {

/// True for URLs git reaches over a network: scheme://… (not file://) or user@host:path.
bool remote_url(const std::string& repo) {
  auto scheme_end = repo.find("://");
  if (scheme_end != std::string::npos) {
    bool scheme = scheme_end > 0;
    for (std::size_t i = 0; i < scheme_end; ++i)
      scheme = scheme && (std::isalnum(static_cast<unsigned char>(repo[i])) || repo[i] == '+' || repo[i] == '-' || repo[i] == '.');
    if (scheme)
      return repo.compare(0, scheme_end, "file") != 0;
  }
  // git's scp-like syntax: a colon before the first slash.
  auto colon = repo.find(':');
  return colon != std::string::npos && colon > 0 && repo.find('/') > colon;
}

} // namespace

result<void> check_repository_location(const std::string& repo, const std::vector<std::string>& roots) {
  if (roots.empty() || remote_url(repo))
    return {};
  std::string path = repo.rfind("file://", 0) == 0 ? repo.substr(7) : repo;
  if (path.empty() || path[0] != '/')
    return make_error(errc::invalid_argument, "a local repository must be an absolute path: " + repo, "repo");
  std::error_code ec;
  auto resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec)
    return make_error(errc::invalid_argument, "cannot resolve " + repo + ": " + ec.message(), "repo");
  for (const auto& root : roots) {
    auto base = std::filesystem::weakly_canonical(root, ec);
    if (ec || base.empty())
      continue;
    auto rel = resolved.lexically_relative(base);
    if (!rel.empty() && *rel.begin() != "..")
      return {};
  }
  std::string allowed;
  for (const auto& root : roots)
    allowed += (allowed.empty() ? "" : ", ") + root;
  return make_error(errc::forbidden, "local repository " + repo + " is outside the allowed roots (" + allowed +
                                       "; see --repo-roots)", "repo");
}

} // namespace aetherium::git
