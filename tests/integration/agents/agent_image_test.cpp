// The agent image (deploy/images/build-agent-rootfs.sh) runs each agent CLI it ships, at the
// version deploy/images/agents/package.json pins, inside a crun sandbox: as the sandbox
// user, without network, under a task's default limits, with HOME read-only or a tmpfs.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/sandbox/sandbox_test_env.hpp"

namespace aetherium::sandbox_testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// A command the image must provide, and the npm package that pins its version.
struct agent_cli {
  const char* command;
  const char* package;
};

void PrintTo(const agent_cli& cli, std::ostream* os) { *os << cli.command; }

constexpr const char* k_build_hint =
    "build the image as root with deploy/images/build-agent-rootfs.sh and export "
    "AETHERIUM_TEST_AGENT_IMAGE=<the directory it prints> (deploy/test.sh does both)";

/// $AETHERIUM_TEST_AGENT_IMAGE. Errors: unavailable, saying how to build the image.
result<std::string> agent_image_dir() {
  const char* env = std::getenv("AETHERIUM_TEST_AGENT_IMAGE");
  if (env == nullptr || *env == '\0')
    return make_error(errc::unavailable,
                      std::string("AETHERIUM_TEST_AGENT_IMAGE is not set: ") + k_build_hint);
  if (!fs::is_directory(env))
    return make_error(errc::unavailable, std::string("AETHERIUM_TEST_AGENT_IMAGE=") + env +
                                             " is not a directory: " + k_build_hint);
  return std::string(env);
}

/// The exact version deploy/images/agents/package.json pins for `package`, or "".
std::string pinned_version(const std::string& package) {
  std::ifstream in(AETHERIUM_SOURCE_DIR "/deploy/images/agents/package.json");
  auto manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("dependencies")) return {};
  const auto& deps = manifest["dependencies"];
  if (!deps.contains(package) || !deps[package].is_string()) return {};
  return deps[package].get<std::string>();
}

/// True when `text` holds `version` as a whitespace-separated word of its own.
bool prints_version(const std::string& text, const std::string& version) {
  std::istringstream words(text);
  std::string word;
  while (words >> word)
    if (word == version || word == "v" + version) return true;
  return false;
}

class agent_image : public ::testing::TestWithParam<agent_cli> {
protected:
  void SetUp() override {
    auto image = agent_image_dir();
    ASSERT_TRUE(image.ok()) << image.err().detail;
    auto env = sandbox_env::make(sandbox_runtime_kind::crun);
    ASSERT_TRUE(env.ok()) << "cannot run sandbox tests: " << env.err().detail;
    env_ = std::move(*env);
    spec_ = env_->spec();
    spec_.rootfs_dir = *image;
    spec_.network.kind = network_policy::mode::none;
    // A task's default limits (events/domain/task_types.hpp).
    spec_.limits.memory_bytes = 512ull << 20;
    spec_.limits.pids = 256;
    spec_.limits.cpu_millis = 1000;
    spec_.limits.tmp_bytes = 64ull << 20;
    auto h = env_->runtime().provision(spec_);
    ASSERT_TRUE(h.ok()) << "cannot provision a sandbox from " << *image << ": " << h.err().detail;
    handle_ = *h;
  }
  void TearDown() override { env_.reset(); }

  /// Runs argv as the sandbox user with HOME=`home`.
  result<exec_output> run(std::vector<std::string> argv, const std::string& home) {
    exec_output out;
    exec_request request;
    request.argv = std::move(argv);
    request.env = {{"HOME", home}};
    request.deadline = std::chrono::steady_clock::now() + 120s;
    request.on_output = [&out](output_stream which, std::string_view chunk) {
      (which == output_stream::out ? out.out : out.err).append(chunk);
    };
    auto status = env_->runtime().exec(handle_, request);
    if (!status) return status.err();
    out.status = *status;
    return out;
  }

  std::unique_ptr<sandbox_env> env_;
  sandbox_spec spec_;
  sandbox_handle handle_;
};

/// Where HOME points: the image's /home/agent (read-only, as the image is) or the sandbox's
/// /tmp (a writable tmpfs).
struct home_case {
  const char* dir;
  bool writable;
};
constexpr home_case k_homes[] = {{"/home/agent", false}, {"/tmp", true}};

TEST_P(agent_image, runs_the_cli_at_its_pinned_version_as_the_sandbox_user_offline) {
  const agent_cli& cli = GetParam();
  std::string version = pinned_version(cli.package);
  ASSERT_FALSE(version.empty()) << "deploy/images/agents/package.json pins no version of " << cli.package;

  for (const home_case& home : k_homes) {
    SCOPED_TRACE(std::string("HOME=") + home.dir);
    // The conditions the CLI runs under: uid 1000, only a loopback interface, HOME as stated.
    auto who = run({"/bin/sh", "-c",
                    "id -u; ls /sys/class/net; probe=\"$HOME/.probe.$$\"; "
                    "if (: > \"$probe\") 2>/dev/null; then echo writable; rm -f \"$probe\"; fi"},
                   home.dir);
    ASSERT_TRUE(who.ok()) << who.err().detail;
    EXPECT_EQ(who->status.exit_code, 0) << who->err;
    EXPECT_EQ(who->out, std::string("1000\nlo\n") + (home.writable ? "writable\n" : ""));

    auto ran = run({cli.command, "--version"}, home.dir);
    ASSERT_TRUE(ran.ok()) << ran.err().detail;
    ASSERT_FALSE(ran->status.not_executed) << cli.command << " cannot be executed from the image "
                                           << spec_.rootfs_dir << " (exit " << ran->status.exit_code
                                           << "): " << ran->err;
    EXPECT_FALSE(ran->status.timed_out) << cli.command << " --version did not finish in 120 s";
    EXPECT_FALSE(ran->status.oom_killed) << cli.command << " --version ran out of memory";
    EXPECT_EQ(ran->status.exit_code, 0) << cli.command << " --version failed\nstdout: " << ran->out
                                        << "\nstderr: " << ran->err;
    EXPECT_TRUE(prints_version(ran->out, version))
        << cli.command << " --version does not print the pinned " << cli.package << "@" << version
        << "\nstdout: " << ran->out << "\nstderr: " << ran->err;
  }
}

INSTANTIATE_TEST_SUITE_P(clis, agent_image,
                         ::testing::Values(agent_cli{"claude", "@anthropic-ai/claude-code"},
                                           agent_cli{"gemini", "@google/gemini-cli"},
                                           agent_cli{"codex", "@openai/codex"}),
                         [](const ::testing::TestParamInfo<agent_cli>& info) {
                           return std::string(info.param.command);
                         });

} // namespace
} // namespace aetherium::sandbox_testing
