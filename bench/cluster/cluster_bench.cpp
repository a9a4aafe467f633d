// Many hosts on one machine, three figures each beside its floor:
//   1. placements per second through the scheduler, over CAF's network layer vs in process;
//   2. trivial tasks per second with 3 node processes vs 1, on a real server;
//   3. exec round trip to a sandbox on a node vs on the local adapter.
//
//   cluster_bench [--runs N] [--tasks M] [--slots K] [--only placements|nodes|tasks|exec]
// As root. Builds the busybox image if needed; uses the PostgreSQL of
// AETHERIUM_PG_ADMIN_URL, or starts a private one (deploy/lib/postgres.sh).
#include "bench/cluster/cluster_bench.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/server_support.hpp"

namespace aetherium::bench::cluster {

helper_process::helper_process(const std::string& what, const std::string& arg1, const std::string& arg2) {
  int out[2];
  if (::pipe(out) != 0)
    fail("pipe");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // also when this process ends through fail()
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl("/proc/self/exe", "cluster_bench", "--serve", what.c_str(), arg1.c_str(), arg2.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  auto* in = ::fdopen(out[0], "r");
  char line[256];
  while (std::fgets(line, sizeof line, in)) {
    if (std::strncmp(line, "port ", 5) == 0)
      ports_.push_back(std::atoi(line + 5));
    if (std::strncmp(line, "ready", 5) == 0)
      break;
  }
  std::fclose(in);
  if (ports_.empty())
    fail("the " + what + " helper did not start");
}

helper_process::~helper_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

} // namespace aetherium::bench::cluster

namespace {

using namespace aetherium::bench;

/// The data folder of the PostgreSQL this run started, if it did.
std::string postgres_dir;

/// Stops that PostgreSQL; registered with atexit, so a part that fails stops it too.
void stop_postgres() {
  if (postgres_dir.empty())
    return;
  std::system(("bash -c 'source " AETHERIUM_SOURCE_DIR "/deploy/lib/common.sh; source " AETHERIUM_SOURCE_DIR
               "/deploy/lib/postgres.sh; PG_DIR=" + postgres_dir + " postgres_stop immediate'").c_str());
  postgres_dir.clear();
}

/// Starts a private PostgreSQL in `where`; its admin conninfo, or "" when it cannot.
std::string start_postgres(const std::string& where) {
  auto out = run("bash -c 'source " AETHERIUM_SOURCE_DIR "/deploy/lib/common.sh; source " AETHERIUM_SOURCE_DIR
                 "/deploy/lib/postgres.sh; postgres_start " + where + " >&2 && echo \"$AETHERIUM_PG_ADMIN_URL\"'");
  out.erase(out.find_last_not_of('\n') + 1);
  if (out.empty())
    return {};
  postgres_dir = where;
  std::atexit(stop_postgres);
  return out.substr(out.rfind('\n') + 1);
}

} // namespace

int main(int argc, char** argv) {
  namespace c = aetherium::bench::cluster;
  if (argc >= 3 && std::strcmp(argv[1], "--serve") == 0) {
    std::string what = argv[2];
    if (what == "scheduler" && argc >= 4)
      return c::serve_scheduler(argv[3]);
    if (what == "agent" && argc >= 5)
      return c::serve_agent(argv[3], argv[4]);
    if (what == "nodes" && argc >= 5)
      return c::serve_nodes(argv[3], argv[4]);
    return 2;
  }
  int runs = 2000, tasks = 120, slots = 2;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (flag == "--tasks")
      tasks = std::atoi(argv[i + 1]);
    else if (flag == "--slots")
      slots = std::atoi(argv[i + 1]);
    else if (flag == "--only")
      only = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: cluster_bench [--runs N] [--tasks M] [--slots K] [--only placements|nodes|tasks|exec]\n");
      return 2;
    }
  }
  auto wants = [&](const char* part) { return only.empty() || only == part; };
  if (wants("placements"))
    c::run_placements(runs * 10);
  if (wants("nodes"))
    c::run_simulated_nodes({100, 1000, 3000, 10000});
  if (!wants("tasks") && !wants("exec"))
    return 0;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "cluster_bench: the tasks and exec parts run sandboxes: run as root (or --only placements)\n");
    return 2;
  }
  char pattern[] = "/tmp/aetherium-bench-cluster.XXXXXX";
  std::string work = ::mkdtemp(pattern);
  std::filesystem::permissions(work, std::filesystem::perms::all);
  auto image = run("sh " AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh | tail -n 1");
  image.erase(image.find_last_not_of('\n') + 1);
  if (wants("exec"))
    c::run_exec(image, work + "/exec", runs / 4);
  if (wants("tasks")) {
    std::string admin = std::getenv("AETHERIUM_PG_ADMIN_URL") ? std::getenv("AETHERIUM_PG_ADMIN_URL") : "";
    if (admin.empty() && (admin = start_postgres(work + "/pg")).empty()) {
      std::fprintf(stderr, "cluster_bench: no PostgreSQL: set AETHERIUM_PG_ADMIN_URL to an admin conninfo\n");
      return 2;
    }
    c::run_tasks(admin, image, work + "/tasks", tasks, slots);
    stop_postgres();
  }
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  return 0;
}
