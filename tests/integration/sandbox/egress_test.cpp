// Allow-list networks: a sandbox reaches named hosts through its proxy and nothing else.
// The "internet" is a busybox httpd (ports 80 and 443, plain HTTP on both) in a network
// namespace the test creates; the proxy resolves fake names through a hosts file. The
// upstream's address is link-local, so the env names its /30 as an operator-allowed
// range; other fake names resolve to loopback and metadata addresses, which stay refused.
#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/sandbox/process_runner.hpp"
#include "adapters/sandbox/unique_fd.hpp"
#include "tests/integration/sandbox/sandbox_fixture.hpp"

namespace aetherium::sandbox_testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool ip(const std::vector<std::string>& args) {
  sandbox::process_request r;
  r.argv = {"/usr/sbin/ip"};
  r.argv.insert(r.argv.end(), args.begin(), args.end());
  auto ran = sandbox::run_process(r);
  return ran && ran->exit_code == 0;
}

/// An HTTP server in its own network namespace, reachable from the host only.
class upstream_server {
public:
  upstream_server() {
    int n = ::getpid() % 50;
    ns_ = "aeup-" + std::to_string(::getpid());
    host_if_ = "aeuh" + std::to_string(::getpid() % 100000);
    std::string prefix = "169.254." + std::to_string(200 + n) + ".";
    address_ = prefix + "2";
    char tmpl[] = "/tmp/aeup-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    fs::create_directories(dir_ + "/www");
    std::ofstream(dir_ + "/www/index.html") << "hello from upstream\n";
    range_ = prefix + "0/30";
    std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost loopback.test\n::ffff:127.0.0.1 mapped.test\n"
                                   << "169.254.169.254 metadata.test\n"
                                   << address_ << " allowed.test denied.test\n";
    ok_ = ip({"netns", "add", ns_}) &&
          ip({"link", "add", host_if_, "type", "veth", "peer", "name", "eth0", "netns", ns_}) &&
          ip({"addr", "add", prefix + "1/30", "dev", host_if_}) &&
          ip({"-n", ns_, "addr", "add", address_ + "/30", "dev", "eth0"}) &&
          ip({"link", "set", host_if_, "up"}) && ip({"-n", ns_, "link", "set", "eth0", "up"});
    for (int port : {80, 443}) {
      if (!ok_) return;
      sandbox::process_request httpd;
      httpd.argv = {"/usr/sbin/ip", "netns", "exec", ns_, "/bin/busybox", "httpd", "-f",
                    "-p", address_ + ":" + std::to_string(port), "-h", dir_ + "/www"};
      auto pid = sandbox::spawn_daemon(httpd, dir_ + "/httpd.log");
      ok_ = pid.ok();
      if (ok_) pids_.push_back(*pid);
      ok_ = ok_ && eventually([&] { return reachable(port); });
    }
  }
  ~upstream_server() {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ip({"link", "del", host_if_});
    ip({"netns", "del", ns_});
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool ok() const { return ok_; }
  const std::string& address() const { return address_; }
  /// The /30 holding the upstream: what an operator would allow for such a host.
  const std::string& range() const { return range_; }
  std::string hosts_file() const { return dir_ + "/hosts"; }

private:
  bool reachable(int port) const {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, address_.c_str(), &addr.sin_addr);
    sandbox::unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  std::string ns_, host_if_, address_, range_, dir_;
  std::vector<pid_t> pids_;
  bool ok_ = false;
};

/// A non-blocking listener on `address` (host byte order) and a port the OS chose.
sandbox::unique_fd host_listener(in_addr_t address, int& port) {
  sandbox::unique_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(address);
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener.get(), 4) != 0
      || ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return sandbox::unique_fd{};
  port = ntohs(addr.sin_port);
  return listener;
}

class egress : public ::testing::TestWithParam<sandbox_variant> {
protected:
  void SetUp() override {
    upstream_ = std::make_unique<upstream_server>();
    ASSERT_TRUE(upstream_->ok()) << "cannot set up the upstream namespace and httpd";
    auto env = sandbox_env::make(GetParam().kind, upstream_->hosts_file(), false, {upstream_->range()});
    ASSERT_TRUE(env.ok()) << "cannot run sandbox tests: " << env.err().detail;
    env_ = std::move(*env);
  }
  void TearDown() override {
    env_.reset();
    upstream_.reset();
  }

  sandbox_handle provision_allowing(std::vector<std::string> hosts) {
    auto spec = env_->spec();
    spec.network.kind = network_policy::mode::allow_list;
    spec.network.allowed_hosts = std::move(hosts);
    auto h = env_->runtime().provision(spec);
    EXPECT_TRUE(h.ok()) << h.err().detail;
    return h ? *h : sandbox_handle{};
  }

  exec_output inside(const sandbox_handle& h, const std::string& script) {
    auto r = env_->sh(h, script, 60s);
    EXPECT_TRUE(r.ok()) << r.err().detail;
    return r ? *r : exec_output{};
  }

  /// Sends `request` (printf escapes allowed) to the sandbox's proxy; its answer.
  std::string ask_proxy(const sandbox_handle& h, const std::string& request) {
    return inside(h, "p=${http_proxy#http://}; printf '" + request + "' | nc ${p%:*} ${p#*:}").out;
  }

  std::unique_ptr<upstream_server> upstream_;
  std::unique_ptr<sandbox_env> env_;
};

TEST_P(egress, lets_an_allowed_host_through_the_proxy) {
  auto h = provision_allowing({"allowed.test"});
  auto r = inside(h, "wget -q -O- http://allowed.test/index.html");
  EXPECT_EQ(r.out, "hello from upstream\n") << r.err;
  EXPECT_EQ(r.status.exit_code, 0);
}

TEST_P(egress, refuses_a_host_not_on_the_list) {
  auto h = provision_allowing({"allowed.test"});
  auto r = inside(h, "wget -q -O- http://denied.test/index.html");
  EXPECT_NE(r.status.exit_code, 0);
  EXPECT_EQ(r.out.find("hello"), std::string::npos);
  EXPECT_NE(r.err.find("403"), std::string::npos) << "the proxy should answer 403: " << r.err;
}

TEST_P(egress, refuses_addresses_given_as_ip_through_the_proxy) {
  auto h = provision_allowing({"allowed.test"});
  auto r = inside(h, "wget -q -O- http://" + upstream_->address() + "/index.html");
  EXPECT_NE(r.status.exit_code, 0);
  EXPECT_NE(r.err.find("403"), std::string::npos) << r.err;
}

TEST_P(egress, has_no_direct_route_anywhere) {
  auto h = provision_allowing({"allowed.test"});
  // No -T: busybox wget's timeout crashes under gVisor; an unroutable address fails at once.
  auto r = inside(h, "wget -q -Y off -O- http://" + upstream_->address() +
                         "/index.html; echo rc=$?; tail -n +2 /proc/net/route | wc -l; "
                         "tail -n +3 /proc/net/dev | awk -F: '{gsub(/ /, \"\", $1); print $1}' | sort");
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("hello"), std::string::npos);
  EXPECT_NE(r.out.find("\n1\neth0\nlo\n"), std::string::npos) << "one on-link route, lo and eth0: " << r.out;
}

TEST_P(egress, keeps_the_sandbox_off_other_host_ports) {
  int port = 0;
  auto listener = host_listener(INADDR_ANY, port);
  ASSERT_TRUE(listener.valid());
  auto h = provision_allowing({"allowed.test"});
  auto r = inside(h, "p=${http_proxy#http://}; host=${p%:*}; "
                     "echo | nc -w 2 $host " + std::to_string(port) + "; echo rc=$?");
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
  EXPECT_LT(::accept(listener.get(), nullptr, nullptr), 0) << "a sandbox reached a host port";
}

TEST_P(egress, destroy_removes_the_namespace_and_the_proxy) {
  auto h = provision_allowing({".allowed.test"});
  auto r = inside(h, "wget -q -O- http://allowed.test/index.html");
  EXPECT_EQ(r.out, "hello from upstream\n");
  std::string pid_file = env_->state_dir() + "/egress/" + h.id + "/proxy.pid";
  pid_t proxy = 0;
  std::ifstream(pid_file) >> proxy;
  ASSERT_GT(proxy, 0);
  ASSERT_TRUE(env_->runtime().destroy(h).ok());
  EXPECT_FALSE(fs::exists("/run/netns/" + h.id));
  EXPECT_FALSE(fs::exists("/sys/class/net/aeh" + h.id.substr(3)));
  EXPECT_NE(::kill(proxy, 0), 0) << "the proxy survived destroy";
  EXPECT_TRUE(fs::is_empty(env_->state_dir() + "/egress/slots"));
}

TEST_P(egress, runs_the_proxy_as_nobody_without_capabilities) {
  auto h = provision_allowing({"allowed.test"});
  pid_t proxy = 0;
  std::ifstream(env_->state_dir() + "/egress/" + h.id + "/proxy.pid") >> proxy;
  ASSERT_GT(proxy, 0);
  std::ifstream status_file("/proc/" + std::to_string(proxy) + "/status");
  std::string status((std::istreambuf_iterator<char>(status_file)), std::istreambuf_iterator<char>());
  std::string nobody = std::to_string(::getpwnam("nobody")->pw_uid);
  EXPECT_EQ(status_field(status, "Uid"), nobody + "\t" + nobody + "\t" + nobody + "\t" + nobody);
  EXPECT_EQ(status_field(status, "Groups"), "");
  EXPECT_EQ(status_field(status, "CapEff"), "0000000000000000");
  EXPECT_EQ(status_field(status, "CapPrm"), "0000000000000000");
  EXPECT_EQ(status_field(status, "NoNewPrivs"), "1");
}

TEST_P(egress, refuses_an_allowed_name_that_resolves_to_loopback) {
  int port_number = 0;
  auto listener = host_listener(INADDR_LOOPBACK, port_number);
  ASSERT_TRUE(listener.valid());
  std::string port = std::to_string(port_number);
  auto h = provision_allowing({"loopback.test", "mapped.test"});
  for (const char* name : {"loopback.test", "mapped.test"}) {
    auto r = inside(h, "wget -q -O- http://" + std::string(name) + ":" + port + "/");
    EXPECT_NE(r.status.exit_code, 0) << name;
    EXPECT_NE(r.err.find("403"), std::string::npos) << name << ": the proxy should answer 403: " << r.err;
  }
  EXPECT_LT(::accept(listener.get(), nullptr, nullptr), 0) << "the proxy connected to a host loopback port";
  auto answer = ask_proxy(h, "GET http://loopback.test:" + port + "/ HTTP/1.0\\r\\n\\r\\n");
  EXPECT_NE(answer.find("403 Forbidden"), std::string::npos) << answer;
  EXPECT_NE(answer.find("(loopback)"), std::string::npos) << answer;
}

TEST_P(egress, refuses_an_allowed_name_that_resolves_to_the_metadata_address) {
  auto h = provision_allowing({"metadata.test"});
  auto r = inside(h, "wget -q -O- http://metadata.test/latest/meta-data/");
  EXPECT_NE(r.status.exit_code, 0);
  EXPECT_NE(r.err.find("403"), std::string::npos) << r.err;
  auto answer = ask_proxy(h, "GET http://metadata.test/latest/meta-data/ HTTP/1.0\\r\\n\\r\\n");
  EXPECT_NE(answer.find("403 Forbidden"), std::string::npos) << answer;
  EXPECT_NE(answer.find("169.254.169.254"), std::string::npos) << answer;
}

TEST_P(egress, refuses_a_private_upstream_unless_the_operator_allows_its_range) {
  env_.reset();
  auto env = sandbox_env::make(GetParam().kind, upstream_->hosts_file());
  ASSERT_TRUE(env.ok()) << env.err().detail;
  env_ = std::move(*env);
  auto h = provision_allowing({"allowed.test"});
  auto r = inside(h, "wget -q -O- http://allowed.test/index.html");
  EXPECT_NE(r.status.exit_code, 0);
  EXPECT_EQ(r.out.find("hello"), std::string::npos);
  EXPECT_NE(r.err.find("403"), std::string::npos) << r.err;
}

TEST_P(egress, tunnels_connect_to_port_443_only) {
  auto h = provision_allowing({"allowed.test"});
  auto tunnel = ask_proxy(h, "CONNECT allowed.test:443 HTTP/1.1\\r\\nHost: allowed.test:443\\r\\n\\r\\n"
                             "GET /index.html HTTP/1.0\\r\\n\\r\\n");
  EXPECT_NE(tunnel.find("200 Connection established"), std::string::npos) << tunnel;
  EXPECT_NE(tunnel.find("hello from upstream"), std::string::npos) << tunnel;
  auto refused = ask_proxy(h, "CONNECT allowed.test:80 HTTP/1.1\\r\\nHost: allowed.test:80\\r\\n\\r\\n"
                              "GET /index.html HTTP/1.0\\r\\n\\r\\n");
  EXPECT_NE(refused.find("403"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("hello"), std::string::npos) << refused;
}

INSTANTIATE_TEST_SUITE_P(runtimes, egress, AETHERIUM_ALL_RUNTIMES, runtime_param_name);

} // namespace
} // namespace aetherium::sandbox_testing
