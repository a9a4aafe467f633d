// Figure 2: M trivial script tasks ("true") submitted at once through the HTTP API of a
// real server (PostgreSQL, crun), timed until every one has ended. Three setups, each on a
// fresh database: the server's own node alone (the floor); its node drained and one
// `aetherium node` process; its node drained and three. Every node has K slots.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/http/client/api_client.hpp"
#include "bench/bench_support.hpp"
#include "bench/cluster/cluster_bench.hpp"
#include "bench/server_support.hpp"

namespace aetherium::bench::cluster {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int free_port() {
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

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// One `aetherium node` process, stopped with SIGTERM (it destroys its sandboxes).
class node_process {
public:
  node_process(const std::string& name, const std::string& dir, const std::string& image, const std::string& join,
               const std::string& token, int slots)
    : log_(dir + "/node.log") {
    fs::create_directories(dir);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::unsetenv("AETHERIUM_DATABASE_URL");
      auto k = std::to_string(slots);
      ::execl(AETHERIUM_BINARY, AETHERIUM_BINARY, "node", "--join", join.c_str(), "--token", token.c_str(), "--name",
              name.c_str(), "--data-dir", dir.c_str(), "--image", image.c_str(), "--max-tasks", k.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 600; ++i) {
      if (slurp(log_).find("joined") != std::string::npos)
        return;
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        fail("node " + name + " exited:\n" + slurp(log_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fail("node " + name + " did not join within 60 s:\n" + slurp(log_));
  }
  ~node_process() { stop(pid_); }

  static void stop(pid_t& pid) {
    if (pid <= 0)
      return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && ::waitpid(pid, nullptr, WNOHANG) != pid; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }

private:
  std::string log_;
  pid_t pid_ = -1;
};

struct setup {
  std::string name;
  int nodes = 0; ///< Node processes; with any, the server's own node is drained.
};

struct outcome {
  double seconds = 0;
  int completed = 0;
  std::map<std::string, int> per_node;
};

/// Submits `tasks` at once and waits for all of them to end.
outcome submit_and_wait(http::api_client& api, const json& project, int tasks, const std::string& server_log) {
  std::vector<std::string> ids;
  outcome out;
  auto start = clock_type::now();
  for (int i = 0; i < tasks; ++i) {
    auto t = api.create_task(json{{"project", project}, {"agent_type", "script"}, {"prompt", "true"}}.dump());
    if (!t)
      fail("create task: " + t.err().detail);
    ids.push_back(json::parse(*t).at("id").get<std::string>());
  }
  std::vector<bool> ended(ids.size(), false);
  for (std::size_t left = ids.size(); left > 0;) {
    if (seconds_since(start) > 600)
      fail("tasks still running after 600 s:\n" + run("tail -n 20 '" + server_log + "'"));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ended[i])
        continue;
      auto t = json::parse(*api.get_task(ids[i]));
      auto s = t.value("status", "");
      if (s != "completed" && s != "failed" && s != "terminated")
        continue;
      ended[i] = true;
      --left;
      out.completed += s == "completed";
      ++out.per_node[t.value("node", "?")];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  out.seconds = seconds_since(start);
  return out;
}

/// One setup on a fresh database: the server, its nodes, one untimed task, then the timed ones.
outcome run_setup(const setup& s, const std::string& admin, const std::string& image, const std::string& work,
                  int tasks, int slots) {
  auto dir = work + "/" + s.name;
  auto data = dir + "/data";
  auto repo = data + "/repos/bench/sample.git";
  run("set -e; d='" + dir + "/init'; mkdir -p \"$d\"; cd \"$d\"; git init -q -b main; echo hello > greeting.txt;"
      " git add -A; git -c user.name=b -c user.email=b@b commit -qm init; git clone -q --bare . '" + repo + "'");
  auto url = fresh_database(admin, "aetherium_bench_cluster_" + s.name);
  auto env = "AETHERIUM_DATABASE_URL='" + url + "' AETHERIUM_DATA_DIR='" + data + "' AETHERIUM_IMAGE='" + image + "'";
  run(env + " " AETHERIUM_BINARY " migrate up");
  auto key = json::parse(run(env + " " AETHERIUM_BINARY " admin create-key --tenant bench --role admin --name b --json"))
               .at("key").get<std::string>();
  auto node_port = std::to_string(free_port());
  auto server_env = env + " AETHERIUM_LISTEN=127.0.0.1:0 AETHERIUM_RATE_LIMIT=1e9 AETHERIUM_RATE_BURST=1e9"
                    + " AETHERIUM_MAX_TASKS=" + std::to_string(slots);
  if (s.nodes > 0)
    server_env += " AETHERIUM_NODE_LISTEN=127.0.0.1:" + node_port + " AETHERIUM_PLACEMENT=spread";
  server_child server;
  start_server(server, server_env, dir + "/server.log");
  std::vector<std::unique_ptr<node_process>> nodes;
  http::api_client api{{"http://127.0.0.1:" + std::to_string(server.port), key}};
  if (s.nodes > 0) {
    auto out = run(env + " " AETHERIUM_BINARY " admin node-token --note bench 2>&1");
    auto at = out.find("aetj_");
    if (at == std::string::npos)
      fail("no join token in: " + out);
    auto token = out.substr(at, out.find_first_of(" \n", at) - at);
    for (int i = 1; i <= s.nodes; ++i)
      nodes.push_back(std::make_unique<node_process>("node" + std::to_string(i), dir + "/node" + std::to_string(i),
                                                     image, "127.0.0.1:" + node_port, token, slots));
    auto drained = api.request("POST", "/v1/nodes/local/drain");
    if (!drained || drained->status != 200)
      fail("drain the local node: " + (drained ? drained->body : drained.err().detail));
  }
  auto project = api.create_project(json{{"name", "bench"}, {"repo", repo}}.dump());
  if (!project)
    fail("create project: " + project.err().detail);
  auto project_id = json::parse(*project).at("id");
  submit_and_wait(api, project_id, 1, dir + "/server.log"); // warms caches, proves the setup works
  auto out = submit_and_wait(api, project_id, tasks, dir + "/server.log");
  nodes.clear();
  pid_t pid = server.pid; // a clean stop releases its workspaces
  node_process::stop(pid);
  server.pid = -1;
  return out;
}

void print_row(const setup& s, const outcome& o, int tasks, const outcome* floor, const outcome* one_node) {
  std::printf("  %-34s %6.2f s %7.1f tasks/s  %2d/%d completed", s.name.c_str(), o.seconds, tasks / o.seconds,
              o.completed, tasks);
  if (floor)
    std::printf("  %5.2fx floor", floor->seconds / o.seconds);
  if (one_node)
    std::printf("  %5.2fx 1 node", one_node->seconds / o.seconds);
  std::printf("  [");
  for (auto& [node, n] : o.per_node)
    std::printf(" %s:%d", node.c_str(), n);
  std::printf(" ]\n");
  std::fflush(stdout);
}

} // namespace

void run_tasks(const std::string& admin, const std::string& image, const std::string& work, int tasks, int slots) {
  std::printf("== %d script tasks (\"true\") submitted at once, until all ended; %d slots per node\n", tasks, slots);
  setup floor{"floor_local_node_only", 0}, one{"one_node_process", 1}, three{"three_node_processes", 3};
  auto f = run_setup(floor, admin, image, work, tasks, slots);
  print_row(floor, f, tasks, nullptr, nullptr);
  auto a = run_setup(one, admin, image, work, tasks, slots);
  print_row(one, a, tasks, &f, nullptr);
  auto b = run_setup(three, admin, image, work, tasks, slots);
  print_row(three, b, tasks, &f, &a);
  std::printf("\n");
}

} // namespace aetherium::bench::cluster
