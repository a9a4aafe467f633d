#pragma once
// The parts of bench/cluster. Each prints its figures beside a floor measured in the same
// run; none asserts on a time.

#include <string>
#include <vector>

#include <sys/types.h>

namespace aetherium::bench::cluster {

/// A helper process: this executable run again with `--serve <what>`. It prints "port N"
/// on its standard output once it listens; killed (SIGKILL) and reaped on destruction.
class helper_process {
public:
  helper_process(const std::string& what, const std::string& arg1 = {}, const std::string& arg2 = {});
  ~helper_process();
  helper_process(const helper_process&) = delete;
  helper_process& operator=(const helper_process&) = delete;

  /// The port the helper printed.
  int port() const { return ports_.front(); }

private:
  pid_t pid_ = -1;
  std::vector<int> ports_;
};

/// Figure 1: place+release through the scheduler actor, in process and over CAF's network
/// layer (plain TCP and TLS), beside a bare remote echo over the same connection.
void run_placements(int requests);
/// The child side of figure 1: the scheduler and a forwarding actor, published on loopback
/// over `transport` ("plain" or "tls").
int serve_scheduler(const std::string& transport);

/// Figure 3: exec of /bin/true through the cluster's sandbox port on a node agent reached
/// over TLS, beside exec on the local OCI adapter and a bare fork/exec.
void run_exec(const std::string& image, const std::string& work, int execs);
/// The child side of figure 3: a node agent over crun, published on loopback with TLS.
int serve_agent(const std::string& work, const std::string& image);

/// Figure 2: M trivial tasks at once through a real server, with 1 and 3 node processes
/// and on the server's own node alone.
void run_tasks(const std::string& admin_url, const std::string& image, const std::string& work, int tasks, int slots);

/// Figure 4: N simulated nodes (one helper process, one connection) join the real node
/// gateway and beat every second: the control plane's CPU share and a placement's latency,
/// beside the same with no nodes. `counts`: N for each run.
void run_simulated_nodes(const std::vector<int>& counts);
/// The child side of figure 4: joins "PORT:OFFSET:COUNT" nodes with `token`, then beats.
int serve_nodes(const std::string& where, const std::string& token);

} // namespace aetherium::bench::cluster
