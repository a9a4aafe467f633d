#include <cstdlib>
#include <filesystem>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <gtest/gtest.h>

#include "actors/caf_system_config.hpp"
#include "cluster/cluster_sandbox_runtime.hpp"
#include "cluster/node_agent.hpp"
#include "events/memory_sandbox_runtime.hpp"
#include "runtime/node_command.hpp"
#include "tests/contract/sandbox_runtime/backend.hpp"
#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::testing {
namespace {

/// The cluster's sandbox port: specs labelled with a node go over CAF's network layer (TLS
/// on loopback, a second actor system in this process) to a node agent that runs them with
/// crun. Every workspace crosses the wire both ways, as between hosts.
struct cluster_backend : backend {
  cluster_backend() {
    auto made = sandbox_testing::sandbox_env::make(sandbox_runtime_kind::crun);
    if (!made) {
      ADD_FAILURE() << "cannot run the OCI adapter here: " << made.err().detail;
      return;
    }
    env_ = std::move(*made);
    if (auto ok = runtime::prepare_node_network(node_cfg_, {}, 10); !ok) {
      ADD_FAILURE() << ok.err().detail;
      return;
    }
    if (auto ok = runtime::prepare_node_network(cp_cfg_, {}, 10); !ok) {
      ADD_FAILURE() << ok.err().detail;
      return;
    }
    node_sys_ = std::make_unique<caf::actor_system>(node_cfg_);
    cp_sys_ = std::make_unique<caf::actor_system>(cp_cfg_);
    char pattern[] = "/tmp/cluster-contract.XXXXXX";
    root_ = ::mkdtemp(pattern);
    auto probe = env_->spec();
    // The agent borrows the environment's runtime, which outlives it.
    std::shared_ptr<sandbox_runtime> node_runtime{&env_->runtime(), [](sandbox_runtime*) {}};
    agent_ = cluster::spawn_node_agent(*node_sys_, {node_runtime, probe.rootfs_dir, root_ + "/workspaces", 64ull << 20});
    auto port = caf::openssl::publish(agent_, 0, "127.0.0.1", true);
    if (!port) {
      ADD_FAILURE() << "cannot publish the node agent: " << node_sys_->render(port.error());
      return;
    }
    auto proxy = caf::openssl::remote_actor(*cp_sys_, "127.0.0.1", *port);
    if (!proxy) {
      ADD_FAILURE() << "cannot reach the node agent: " << cp_sys_->render(proxy.error());
      return;
    }
    auto nodes = std::make_shared<cluster::node_directory>();
    nodes->attach("n1", *proxy);
    runtime_ = cluster::make_cluster_sandbox_runtime(*cp_sys_, make_memory_sandbox_runtime(), "local", nodes);
    ready_ = true;
  }
  ~cluster_backend() override {
    runtime_.reset();
    if (agent_)
      caf::anon_send_exit(agent_, caf::exit_reason::user_shutdown);
    cp_sys_.reset();
    node_sys_.reset();
    std::error_code ec;
    if (!root_.empty())
      std::filesystem::remove_all(root_, ec);
  }
  sandbox_runtime& runtime() override { return *runtime_; }
  bool reaches_gateway() const override { return false; }
  sandbox_spec spec() override {
    auto s = env_->spec();
    s.labels[cluster::node_label] = "n1";
    return s;
  }

  std::unique_ptr<sandbox_testing::sandbox_env> env_;
  actors::system_config node_cfg_, cp_cfg_;
  std::unique_ptr<caf::actor_system> node_sys_, cp_sys_;
  std::string root_;
  caf::actor agent_;
  std::shared_ptr<sandbox_runtime> runtime_;
  bool ready_ = false;
};

} // namespace

std::unique_ptr<backend> make_backend() {
  auto b = std::make_unique<cluster_backend>();
  return b->ready_ ? std::move(b) : nullptr;
}

} // namespace aetherium::testing
