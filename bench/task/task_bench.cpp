// How long a trivial task takes through the real `aetherium server` (PostgreSQL, crun, the
// local git code host): request -> agent running (task.requested to task.started) and
// request -> completed with its pull request, beside the floor measured in the same run:
// a cold crun sandbox through the adapter, from provision to its first command exited.
//
//   bench_task "<admin conninfo>" [tasks, default 30]
// One floor run follows each task, so the two see the same machine.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "adapters/http/client/api_client.hpp"
#include "adapters/sandbox/oci_sandbox_runtime.hpp"
#include "events/domain/task_types.hpp"
#include "bench/bench_support.hpp"
#include "bench/server_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace aetherium;
using bench::fail;
using bench::run;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

/// Cold sandbox starts through the adapter: provision, run /bin/true, destroy.
class sandbox_floor {
public:
  sandbox_floor(const std::string& image, const std::string& state) : image_(image), state_(state) {
    oci_sandbox_options o;
    o.state_dir = state;
    o.init_binary = AETHERIUM_SANDBOX_INIT;
    auto rt = make_oci_sandbox_runtime(o);
    if (!rt)
      fail("sandbox runtime: " + rt.err().detail);
    rt_ = std::move(*rt);
    fs::create_directories(state + "/ws");
  }

  /// One start, in milliseconds.
  double once() {
    sandbox_spec spec; // the shape of a default task's sandbox
    spec.rootfs_dir = image_;
    spec.workspace_dir = state_ + "/ws";
    spec.limits.memory_bytes = domain::task_limits{}.memory_bytes;
    spec.limits.pids = domain::task_limits{}.pids;
    spec.limits.cpu_millis = domain::task_limits{}.cpu_millis;
    spec.uid = spec.gid = 65534;
    spec.labels = {{"task", "floor"}};
    auto start = bench::clock_type::now();
    auto h = rt_->provision(spec);
    if (!h)
      fail("provision: " + h.err().detail);
    exec_request req;
    req.argv = {"/bin/true"};
    if (auto ran = rt_->exec(*h, req); !ran)
      fail("exec: " + ran.err().detail);
    auto ms = bench::seconds_since(start) * 1000;
    (void)rt_->destroy(*h);
    return ms;
  }

private:
  std::string image_, state_;
  std::shared_ptr<sandbox_runtime> rt_;
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_task '<admin conninfo>' [tasks]\n");
    return 2;
  }
  int tasks = argc > 2 ? std::atoi(argv[2]) : 30;
  auto url = bench::fresh_database(argv[1], "aetherium_bench_task");
  char pattern[] = "/tmp/aetherium-bench-task.XXXXXX";
  std::string work = ::mkdtemp(pattern);
  auto image = run("sh " AETHERIUM_SOURCE_DIR "/deploy/images/build-busybox-rootfs.sh | tail -n 1");
  image.erase(image.find_last_not_of('\n') + 1);
  auto repo = work + "/data/repos/bench/sample.git";
  run("set -e; d='" + work + "/init'; mkdir -p \"$d\"; cd \"$d\"; git init -q -b main; echo hello > greeting.txt;"
      " git add -A; git -c user.name=b -c user.email=b@b commit -qm init; git clone -q --bare . '" + repo + "'");
  auto env = "AETHERIUM_DATABASE_URL='" + url + "' AETHERIUM_DATA_DIR='" + work + "/data' AETHERIUM_IMAGE='" + image + "'";
  run(env + " " AETHERIUM_BINARY " migrate up");
  auto key = json::parse(run(env + " " AETHERIUM_BINARY " admin create-key --tenant bench --role admin --name b --json"))
               .at("key").get<std::string>();
  std::vector<double> quiet;
  {
    sandbox_floor before{image, work + "/quiet"}; // before the server runs: a quiet machine
    for (int i = 0; i < tasks; ++i)
      quiet.push_back(before.once());
  }
  bench::server_child server;
  bench::start_server(server, env + " AETHERIUM_LISTEN=127.0.0.1:0 AETHERIUM_RATE_LIMIT=1e9 AETHERIUM_RATE_BURST=1e9",
                      work + "/server.log");
  http::api_client api{{"http://127.0.0.1:" + std::to_string(server.port), key}};
  auto project = api.create_project(json{{"name", "bench"}, {"repo", repo}}.dump());
  if (!project)
    fail("create project: " + project.err().detail);
  auto project_id = json::parse(*project).at("id");
  pqxx::connection db{url};
  sandbox_floor floor_runs{image, work + "/floor"};
  std::vector<double> to_running, to_completed, floor;
  for (int i = 0; i < tasks + 2; ++i) {
    auto t = api.create_task(json{{"project", project_id}, {"agent_type", "script"},
                                  {"prompt", "echo run " + std::to_string(i) + " > hello.txt"}}.dump());
    if (!t)
      fail("create task: " + t.err().detail);
    auto id = json::parse(*t).at("id").get<std::string>();
    for (int polls = 0;; ++polls) {
      auto s = json::parse(*api.get_task(id)).value("status", "");
      if (s == "completed")
        break;
      if (s == "failed" || s == "terminated" || polls > 3000)
        fail("task " + id + " ended " + s + ":\n" + run("tail -n 20 '" + work + "/server.log'"));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pqxx::work tx{db};
    auto row = tx.exec1("SELECT extract(epoch FROM max(recorded_at) FILTER (WHERE type = 'task.started') - min(recorded_at)),"
                        " extract(epoch FROM max(recorded_at) - min(recorded_at)) FROM events WHERE stream_id = "
                        + tx.quote("task-" + id));
    if (i >= 2) { // the first runs warm caches
      to_running.push_back(row[0].as<double>() * 1000);
      to_completed.push_back(row[1].as<double>() * 1000);
      floor.push_back(floor_runs.once()); // alternated with the tasks: noise hits both alike
    }
  }
  auto p50 = [](const std::vector<double>& v) { return percentile(v, 0.5); };
  std::printf("tasks: %d (sequential, script agent, no verify command, local code host)\n", tasks);
  std::printf("%-46s p50 %7.1f ms  p90 %7.1f ms\n", "raw sandbox start, before the server started", p50(quiet),
              percentile(quiet, 0.9));
  std::printf("%-46s p50 %7.1f ms  p90 %7.1f ms\n", "raw sandbox start, one after each task", p50(floor),
              percentile(floor, 0.9));
  std::printf("%-46s p50 %7.1f ms  p90 %7.1f ms  (%.2fx / %.2fx the raw start)\n", "request -> agent running",
              p50(to_running), percentile(to_running, 0.9), p50(to_running) / p50(quiet), p50(to_running) / p50(floor));
  std::printf("%-46s p50 %7.1f ms  p90 %7.1f ms\n", "request -> completed (PR included)", p50(to_completed),
              percentile(to_completed, 0.9));
  std::error_code ec;
  fs::remove_all(work, ec);
  return 0;
}
