// The warm pool: sandboxes created ahead of demand and handed out by provision. The
// hardening suite runs once more over warm sandboxes (hardening_test.cpp); these cases
// cover what only the pool does.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "adapters/sandbox/cgroups.hpp"
#include "adapters/sandbox/host_mounts.hpp"
#include "adapters/sandbox/oci_sandbox_runtime_impl.hpp"
#include "adapters/sandbox/process_runner.hpp"
#include "tests/integration/sandbox/sandbox_fixture.hpp"

namespace aetherium::sandbox_testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// An adapter with a warm pool of `size` over its own state directory and cgroup parent,
/// so the test can look at everything the pool holds.
class warm_pool : public ::testing::TestWithParam<sandbox_variant> {
protected:
  void SetUp() override {
    auto env = sandbox_env::make(GetParam().kind);
    ASSERT_TRUE(env.ok()) << "cannot run sandbox tests: " << env.err().detail;
    env_ = std::move(*env);
    char tmpl[] = "/tmp/aetherium-warm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    state_dir_ = tmpl;
    cgroup_parent_ = "aetherium-warm-" + std::to_string(::getpid());
    open_adapter(2);
  }

  void TearDown() override {
    if (adapter_) {
      if (auto all = adapter_->list())
        for (const auto& info : *all) (void)adapter_->destroy(info.handle);
    }
    adapter_ = nullptr;
    owned_.reset();
    if (auto layout = sandbox::cgroup_layout::detect())
      for (const auto& dir : layout->directories("/" + cgroup_parent_)) ::rmdir(dir.c_str());
    std::error_code ec;
    fs::remove_all(state_dir_, ec);
    env_.reset();
  }

  void open_adapter(std::size_t size) {
    oci_sandbox_options o;
    o.state_dir = state_dir_;
    o.cgroup_parent = cgroup_parent_;
    o.init_binary = AETHERIUM_SANDBOX_INIT;
    o.egress_proxy_binary = AETHERIUM_EGRESS_PROXY;
    o.warm_pool_size = size;
    auto made = make_oci_sandbox_runtime(o);
    ASSERT_TRUE(made.ok()) << made.err().detail;
    owned_ = std::move(*made);
    adapter_ = dynamic_cast<sandbox::oci_sandbox_runtime*>(owned_.get());
    ASSERT_NE(adapter_, nullptr);
  }

  /// Makes `spec`'s shape known and waits until `n` warm sandboxes are ready.
  void fill(const sandbox_spec& spec, std::size_t n) {
    ASSERT_TRUE(adapter_->prewarm(spec));
    ASSERT_TRUE(eventually([&] { return adapter_->warm_count(spec) >= n; }, 60s))
        << "the pool holds " << adapter_->warm_count(spec) << " of " << n;
  }

  std::string run(const sandbox_handle& h, const std::string& script, int expected_exit = 0) {
    std::string out;
    exec_request r;
    r.argv = {"/bin/sh", "-c", script};
    r.on_output = [&out](output_stream, std::string_view chunk) { out.append(chunk); };
    auto status = adapter_->exec(h, r);
    EXPECT_TRUE(status.ok()) << status.err().detail;
    if (status) {
      EXPECT_EQ(status->exit_code, expected_exit) << out;
    }
    return out;
  }

  /// Containers the runtime binary holds, sandbox dirs on disk and cgroups below the parent.
  std::set<std::string> containers() const {
    sandbox::process_request list;
    list.argv = {*runtime_binary(GetParam().kind), "--root",
                 state_dir_ + "/runtime/" + to_string(GetParam().kind), "list", "--quiet"};
    std::set<std::string> ids;
    auto ran = sandbox::run_captured(list);
    if (!ran) return {"list failed: " + ran.err().detail};
    std::istringstream lines(ran->out);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) ids.insert(line);
    return ids;
  }
  std::set<std::string> sandbox_dirs() const {
    std::set<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_dir_ + "/sandboxes", ec)) ids.insert(e.path().filename());
    return ids;
  }
  std::set<std::string> cgroups() const {
    std::set<std::string> ids;
    auto layout = sandbox::cgroup_layout::detect();
    if (!layout) return {"no cgroups"};
    for (const auto& dir : layout->directories("/" + cgroup_parent_)) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory()) ids.insert(e.path().filename());
    }
    return ids;
  }

  std::unique_ptr<sandbox_env> env_;
  std::unique_ptr<sandbox_runtime> owned_;
  sandbox::oci_sandbox_runtime* adapter_ = nullptr;
  std::string state_dir_;
  std::string cgroup_parent_;
};

TEST_P(warm_pool, hands_out_a_created_sandbox_with_the_specs_workspace_secrets_and_labels) {
  auto spec = env_->spec();
  fill(spec, 2);
  auto warm = adapter_->warm_ids();
  ASSERT_EQ(warm.size(), 2u);
  EXPECT_TRUE(adapter_->list()->empty()) << "the pool's sandboxes are not the caller's";
  std::ofstream(spec.workspace_dir + "/from-host.txt") << "seeded";
  spec.secrets = {{"api-key", "s3cr3t-value"}};
  spec.labels = {{"task", "t-warm"}};
  auto h = adapter_->provision(spec);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  EXPECT_EQ(adapter_->warm_hits(), 1u);
  EXPECT_TRUE(h->id == warm[0] || h->id == warm[1]) << h->id << " did not come from the pool";
  EXPECT_EQ(run(*h, "cat /workspace/from-host.txt; echo made > /workspace/from-sandbox.txt"), "seeded");
  std::ifstream made(spec.workspace_dir + "/from-sandbox.txt");
  std::string text;
  made >> text;
  EXPECT_EQ(text, "made");
  EXPECT_EQ(run(*h, "stat -c '%a %u' /run/secrets/api-key; cat /run/secrets/api-key"),
            "400 1000\n[REDACTED]");
  run(*h, "touch /run/secrets/new 2>/dev/null", 1);
  run(*h, "grep -E ' /workspace .*nosuid.*nodev| /workspace .*nodev.*nosuid' /proc/mounts >/dev/null");
  auto listed = adapter_->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().labels.at("task"), "t-warm");
  ASSERT_TRUE(adapter_->destroy(*h).ok());
  EXPECT_TRUE(sandbox::mounts_below(state_dir_).empty());
}

TEST_P(warm_pool, refills_and_takes_its_sandboxes_along_when_the_adapter_goes) {
  auto spec = env_->spec();
  fill(spec, 2);
  auto first = adapter_->provision(spec);
  ASSERT_TRUE(first.ok()) << first.err().detail;
  fill(spec, 2);
  EXPECT_EQ(containers().size(), 3u);
  ASSERT_TRUE(adapter_->destroy(*first).ok());
  EXPECT_EQ(containers().size(), 2u);
  EXPECT_EQ(sandbox_dirs().size(), 2u);
  adapter_ = nullptr;
  owned_.reset();
  EXPECT_TRUE(containers().empty());
  EXPECT_TRUE(sandbox_dirs().empty());
  EXPECT_TRUE(cgroups().empty());
}

TEST_P(warm_pool, serves_a_spec_of_another_shape_cold) {
  auto spec = env_->spec();
  fill(spec, 1);
  auto other = env_->spec();
  other.limits.memory_bytes = 96ull << 20;
  auto h = adapter_->provision(other);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  EXPECT_EQ(adapter_->warm_hits(), 0u);
  EXPECT_EQ(run(*h, "echo cold"), "cold\n");
}

TEST_P(warm_pool, replaces_a_warm_sandbox_that_died_with_a_cold_one) {
  auto spec = env_->spec();
  open_adapter(1);
  fill(spec, 1);
  auto victim = adapter_->warm_ids().at(0);
  sandbox::process_request kill;
  kill.argv = {*runtime_binary(GetParam().kind), "--root", state_dir_ + "/runtime/" + to_string(GetParam().kind),
               "delete", "--force", victim};
  auto killed = sandbox::run_captured(kill);
  ASSERT_TRUE(killed.ok() && killed->outcome.exit_code == 0) << (killed ? killed->err : killed.err().detail);
  auto h = adapter_->provision(spec);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  EXPECT_EQ(adapter_->warm_hits(), 0u);
  EXPECT_NE(h->id, victim);
  EXPECT_EQ(run(*h, "echo alive"), "alive\n");
  ASSERT_TRUE(adapter_->destroy(*h).ok());
  EXPECT_EQ(sandbox_dirs().count(victim), 0u) << "the dead warm sandbox was not cleaned up";
}

TEST_P(warm_pool, never_hands_a_warm_sandbox_to_a_spec_with_a_gateway) {
  auto spec = env_->spec();
  open_adapter(1);
  fill(spec, 1);
  auto warm = adapter_->warm_ids();
  auto gated = spec; // the same shape otherwise
  gated.gateway_socket = "/tmp/aetherium-warm-pool-gateway.sock";
  EXPECT_FALSE(adapter_->prewarm(gated));
  EXPECT_EQ(adapter_->warm_count(gated), 0u);
  auto h = adapter_->provision(gated);
  ASSERT_TRUE(h.ok()) << h.err().detail;
  EXPECT_EQ(adapter_->warm_hits(), 0u);
  EXPECT_EQ(adapter_->warm_ids(), warm) << "the warm sandbox stays in the pool";
  EXPECT_EQ(run(*h, "echo $AETHERIUM_MODEL_GATEWAY").rfind("http://169.254.", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(runtimes, warm_pool,
                         ::testing::Values(sandbox_variant{sandbox_runtime_kind::crun},
                                           sandbox_variant{sandbox_runtime_kind::runc}),
                         runtime_param_name);

} // namespace
} // namespace aetherium::sandbox_testing
