// Many hosts on one machine: a real control plane (PostgreSQL, crun sandboxes) and three
// real `aetherium node` processes joined to it over CAF's network layer with TLS. Tasks
// are placed across them by the configured strategy, run in the node's sandboxes and come
// back; a node killed mid-task is lost and its task ends node_lost; it comes back with its
// credential and reconciles; a removed node cannot come back without a new token.
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/e2e/server_process.hpp"
#include "tests/support/pg_test_database.hpp"

using namespace aetherium;
using namespace aetherium::testing;
using json = nlohmann::json;
using std::chrono::steady_clock;

namespace {

/// One `aetherium node` process.
class node_process {
public:
  node_process(std::string name, std::string dir, std::string image) : name_(std::move(name)), dir_(std::move(dir)),
                                                                      image_(std::move(image)) {}
  ~node_process() { kill(SIGKILL); }

  /// Starts the node; with `wait`, until it says it joined (60 s).
  void start(const std::string& join, const std::string& token, bool wait = true) {
    std::filesystem::create_directories(dir_);
    pid_ = ::fork();
    if (pid_ == 0) {
      auto log = dir_ + "/node.log";
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::unsetenv("AETHERIUM_DATABASE_URL");
      ::execl(AETHERIUM_BINARY, AETHERIUM_BINARY, "node", "--join", join.c_str(), "--token", token.c_str(), "--name",
              name_.c_str(), "--data-dir", dir_.c_str(), "--image", image_.c_str(), "--max-tasks", "2", nullptr);
      ::_exit(127);
    }
    if (wait) {
      ASSERT_TRUE(wait_for_log("joined", std::chrono::seconds(60))) << "node " << name_ << " did not join:\n" << log();
    }
  }

  /// Waits for `text` in the node's log (after the last start); false when the process ended first or time ran out.
  bool wait_for_log(const std::string& text, std::chrono::seconds within) {
    auto deadline = steady_clock::now() + within;
    while (steady_clock::now() < deadline) {
      if (log().find(text, offset_) != std::string::npos)
        return true;
      int status = 0;
      if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return log().find(text, offset_) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  /// Waits for the process to end; its exit status (-1 if it did not within `within`).
  int wait_exit(std::chrono::seconds within) {
    auto deadline = steady_clock::now() + within;
    while (pid_ > 0 && steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return pid_ > 0 ? -1 : exit_status_;
  }

  /// Sends `sig` without waiting (SIGSTOP freezes the node).
  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  void kill(int sig) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    offset_ = log().size(); // the next start's lines come after these
  }

  std::string log() const {
    std::ifstream in{dir_ + "/node.log"};
    return {std::istreambuf_iterator<char>(in), {}};
  }
  const std::string& name() const { return name_; }

private:
  std::string name_, dir_, image_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::size_t offset_ = 0;
};

class cluster : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = busybox_image();
    repo_ = sample_repository_in(work_.path);
    ASSERT_FALSE(HasFailure());
    node_port_ = free_port();
    server_ = std::make_unique<server_process>(
      db_.url(), work_.path + "/data", image_,
      "AETHERIUM_NODE_LISTEN=127.0.0.1:" + std::to_string(node_port_)
        + " AETHERIUM_PLACEMENT=spread AETHERIUM_NODE_TIMEOUT=5 AETHERIUM_MAX_TASKS=1");
    ASSERT_NO_FATAL_FAILURE(server_->start());
    auto key = server_->admin_key("acme");
    ASSERT_FALSE(key.empty());
    api_ = std::make_unique<http::api_client>(http::client_options{server_->base_url(), key});
    project_ = create_sample_project(*api_, repo_);
    ASSERT_FALSE(project_.empty());
    token_ = node_token();
    ASSERT_FALSE(token_.empty());
    for (int i = 1; i <= 3; ++i) {
      nodes_.push_back(std::make_unique<node_process>("node" + std::to_string(i),
                                                      work_.path + "/node" + std::to_string(i), image_));
      ASSERT_NO_FATAL_FAILURE(nodes_.back()->start(join(), token_));
    }
  }

  void TearDown() override {
    if (HasFailure() && server_) {
      std::cerr << "server log:\n" << server_->log_tail();
      for (auto& n : nodes_)
        std::cerr << n->name() << " log:\n" << n->log().substr(n->log().size() > 3000 ? n->log().size() - 3000 : 0);
    }
  }

  std::string join() const { return "127.0.0.1:" + std::to_string(node_port_); }

  std::string node_token() {
    auto out = server_->cli("admin node-token --note cluster-test");
    EXPECT_EQ(out.exit_code, 0) << out.output;
    auto at = out.output.find("aetj_");
    if (at == std::string::npos)
      return {};
    return out.output.substr(at, out.output.find_first_of(" \n", at) - at);
  }

  std::map<std::string, json> nodes() {
    auto r = api_->list_nodes();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    std::map<std::string, json> out;
    auto page = r ? json::parse(*r) : json::object({{"nodes", json::array()}});
    for (auto& n : page.at("nodes"))
      out[n.value("name", "")] = n;
    return out;
  }

  /// Waits until node `name` shows `status` in GET /v1/nodes.
  bool node_becomes(const std::string& name, const std::string& status, std::chrono::seconds within) {
    auto deadline = steady_clock::now() + within;
    while (steady_clock::now() < deadline) {
      auto all = nodes();
      if (all.count(name) && all[name].value("status", "") == status)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string post_task(const std::string& script) {
    auto body = json{{"project", project_}, {"agent_type", "script"}, {"prompt", script}}.dump();
    auto r = api_->create_task(body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().detail);
    return r ? json::parse(*r).at("id").get<std::string>() : "";
  }

  pg_test_database db_;
  temp_dir work_;
  std::string image_, repo_, project_, token_;
  int node_port_ = 0;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http::api_client> api_;
  std::vector<std::unique_ptr<node_process>> nodes_;
};

TEST_F(cluster, joined_nodes_are_listed_ready_with_their_capacity_and_runtimes) {
  auto all = nodes();
  ASSERT_EQ(all.size(), 4u);
  for (auto& name : {"local", "node1", "node2", "node3"}) {
    auto& n = all[name];
    EXPECT_EQ(n.value("status", ""), "ready") << n.dump();
    EXPECT_GT(n.value("cpu_millis", 0), 0) << n.dump();
    EXPECT_GT(n.value("memory_bytes", 0ull), 0ull) << n.dump();
    EXPECT_TRUE(n.at("last_heartbeat_at").is_string()) << n.dump();
    auto runtimes = n.at("runtimes").get<std::vector<std::string>>();
    EXPECT_NE(std::find(runtimes.begin(), runtimes.end(), "crun"), runtimes.end()) << n.dump();
  }
  EXPECT_EQ(all["node1"].value("sandbox_slots", 0), 2) << all["node1"].dump();
  EXPECT_EQ(all["node1"].at("free").value("sandbox_slots", 0), 2) << all["node1"].dump();
}

TEST_F(cluster, a_wrong_token_is_refused_and_the_refusal_is_recorded) {
  node_process intruder{"intruder", work_.path + "/intruder", image_};
  intruder.start(join(), "aetj_0123456789abcdef_" + std::string(43, 'A'), false);
  EXPECT_EQ(intruder.wait_exit(std::chrono::seconds(60)), 1) << intruder.log();
  EXPECT_NE(intruder.log().find("join refused"), std::string::npos) << intruder.log();
  EXPECT_EQ(nodes().count("intruder"), 0u);
  auto refused = run_command("psql -At '" + db_.url() + "' -c \"select count(*) from events where stream_id = "
                             "'node-intruder' and type = 'node.join_refused'\"");
  EXPECT_EQ(refused.output.substr(0, 1), "1") << refused.output;
}

TEST_F(cluster, spread_places_tasks_on_different_nodes_and_their_changes_come_back) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(post_task("echo from-" + std::to_string(i) + " > out-" + std::to_string(i) + ".txt; sleep 4"));
  std::set<std::string> used;
  for (auto& id : ids) {
    auto t = wait_for_task(*api_, id, ended, 120);
    EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
    used.insert(t.value("node", ""));
    EXPECT_EQ(t.at("diff").value("files_changed", 0), 1) << t.dump();
  }
  // Four tasks at once, four nodes with room: spread gives each node one.
  EXPECT_EQ(used.size(), 4u) << "nodes used: " << used.size();
}

TEST_F(cluster, a_node_killed_mid_task_is_lost_its_task_ends_node_lost_and_it_comes_back) {
  // Only the joined nodes take tasks.
  auto drained = api_->request("POST", "/v1/nodes/local/drain");
  ASSERT_TRUE(drained.ok());
  ASSERT_EQ(drained->status, 200) << drained->body;
  EXPECT_EQ(json::parse(drained->body).value("status", ""), "draining") << drained->body;
  auto id = post_task("sleep 60");
  auto running = wait_for_task(*api_, id, [](const json& t) { return t.value("status", "") == "running"; }, 60);
  auto node = running.value("node", "");
  ASSERT_NE(node.find("node"), std::string::npos) << running.dump();
  auto victim = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& n) { return n->name() == node; });
  ASSERT_NE(victim, nodes_.end());
  auto killed_at = steady_clock::now();
  (*victim)->kill(SIGKILL);
  auto t = wait_for_task(*api_, id, ended, 30);
  EXPECT_LT(steady_clock::now() - killed_at, std::chrono::seconds(10));
  EXPECT_EQ(t.value("status", ""), "failed") << t.dump();
  EXPECT_EQ(t.value("failure_reason", ""), "node_lost") << t.dump();
  EXPECT_TRUE(node_becomes(node, "lost", std::chrono::seconds(10))) << nodes()[node].dump();

  // New tasks avoid the lost node.
  auto next = post_task("true");
  auto done = wait_for_task(*api_, next, ended, 60);
  EXPECT_EQ(done.value("status", ""), "completed") << done.dump();
  EXPECT_NE(done.value("node", ""), node);

  // It comes back with its credential (no token) and destroys what it held.
  ASSERT_NO_FATAL_FAILURE((*victim)->start(join(), ""));
  EXPECT_TRUE(node_becomes(node, "ready", std::chrono::seconds(10))) << nodes()[node].dump();
}

TEST_F(cluster, a_task_whose_node_is_lost_before_its_agent_starts_runs_once_elsewhere) {
  for (auto& name : {"local", "node2", "node3"}) {
    auto drained = api_->request("POST", std::string{"/v1/nodes/"} + name + "/drain");
    ASSERT_TRUE(drained.ok());
    ASSERT_EQ(drained->status, 200) << drained->body;
  }
  // node1, the only node taking tasks, freezes: it is placed there, and its sandbox never starts.
  nodes_[0]->signal(SIGSTOP);
  auto id = post_task("echo retried > retried.txt");
  auto scheduled = wait_for_task(*api_, id, [](const json& t) { return t.at("node").is_string(); }, 10);
  ASSERT_EQ(scheduled.at("node"), "node1") << scheduled.dump();
  ASSERT_EQ(scheduled.value("status", ""), "scheduled") << scheduled.dump();
  auto undrained = api_->request("POST", "/v1/nodes/node2/undrain");
  ASSERT_TRUE(undrained.ok());
  ASSERT_EQ(undrained->status, 200) << undrained->body;

  auto t = wait_for_task(*api_, id, ended, 60);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
  EXPECT_EQ(t.value("node", ""), "node2") << t.dump();
  EXPECT_EQ(t.at("diff").value("files_changed", 0), 1) << t.dump();
  auto types = task_event_types(*api_, id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "task.scheduled"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "task.started"), 1);
  EXPECT_TRUE(node_becomes("node1", "lost", std::chrono::seconds(10)));
  nodes_[0]->kill(SIGKILL);
}

TEST_F(cluster, a_task_with_no_retries_ends_node_lost_when_its_node_is_lost_before_its_agent_starts) {
  for (auto& name : {"local", "node2", "node3"})
    ASSERT_EQ(api_->request("POST", std::string{"/v1/nodes/"} + name + "/drain")->status, 200);
  nodes_[0]->signal(SIGSTOP);
  auto body = json{{"project", project_}, {"agent_type", "script"}, {"prompt", "true"}, {"node_loss_retries", 0}}.dump();
  auto created = api_->create_task(body);
  ASSERT_TRUE(created.ok()) << (created.ok() ? "" : created.err().detail);
  auto id = json::parse(*created).at("id").get<std::string>();
  EXPECT_EQ(json::parse(*created).value("node_loss_retries", -1), 0) << *created;
  ASSERT_EQ(api_->request("POST", "/v1/nodes/node2/undrain")->status, 200);
  auto t = wait_for_task(*api_, id, ended, 60);
  EXPECT_EQ(t.value("status", ""), "failed") << t.dump();
  EXPECT_EQ(t.value("failure_reason", ""), "node_lost") << t.dump();
  auto types = task_event_types(*api_, id);
  EXPECT_EQ(std::count(types.begin(), types.end(), "task.started"), 0);
  nodes_[0]->kill(SIGKILL);
}

TEST_F(cluster, a_rolling_restart_of_every_node_while_tasks_run_loses_no_task) {
  ASSERT_EQ(api_->request("POST", "/v1/nodes/local/drain")->status, 200);
  std::vector<std::string> ids;
  auto post_some = [&](int n) {
    for (int i = 0; i < n; ++i)
      ids.push_back(post_task("sleep 2; echo " + std::to_string(ids.size()) + " > out.txt"));
  };
  post_some(4);
  for (auto& node : nodes_) {
    // SIGTERM drains the node: what it runs finishes there, new tasks go to the others.
    node->signal(SIGTERM);
    post_some(2);
    EXPECT_EQ(node->wait_exit(std::chrono::seconds(60)), 0) << node->log();
    EXPECT_NE(node->log().find("draining"), std::string::npos) << node->log();
    ASSERT_NO_FATAL_FAILURE(node->start(join(), ""));
    EXPECT_TRUE(node_becomes(node->name(), "ready", std::chrono::seconds(10)));
    post_some(2);
  }
  for (auto& id : ids) {
    auto t = wait_for_task(*api_, id, ended, 120);
    EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
    auto types = task_event_types(*api_, id);
    EXPECT_EQ(std::count(types.begin(), types.end(), "task.started"), 1) << id;
  }
}

TEST_F(cluster, an_operators_drain_outlasts_the_nodes_restart_and_the_control_planes) {
  for (auto& name : {"local", "node1"})
    ASSERT_EQ(api_->request("POST", std::string{"/v1/nodes/"} + name + "/drain")->status, 200);
  auto& node1 = nodes_[0];
  node1->signal(SIGTERM);
  EXPECT_EQ(node1->wait_exit(std::chrono::seconds(60)), 0) << node1->log();
  ASSERT_NO_FATAL_FAILURE(node1->start(join(), ""));
  EXPECT_TRUE(node_becomes("node1", "draining", std::chrono::seconds(10))) << nodes()["node1"].dump();

  server_->kill(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(server_->start(true));
  EXPECT_TRUE(node_becomes("local", "draining", std::chrono::seconds(10))) << nodes()["local"].dump();
  EXPECT_TRUE(node_becomes("node2", "ready", std::chrono::seconds(30))) << nodes()["node2"].dump();
  EXPECT_TRUE(node_becomes("node1", "draining", std::chrono::seconds(30))) << nodes()["node1"].dump();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(post_task("true"));
  for (auto& id : ids) {
    auto t = wait_for_task(*api_, id, ended, 60);
    EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
    EXPECT_TRUE(t.value("node", "") == "node2" || t.value("node", "") == "node3") << t.dump();
  }

  // Undrained, it is ready again, and a restart of its own no longer drains it.
  ASSERT_EQ(api_->request("POST", "/v1/nodes/node1/undrain")->status, 200);
  node1->signal(SIGTERM);
  EXPECT_EQ(node1->wait_exit(std::chrono::seconds(60)), 0) << node1->log();
  ASSERT_NO_FATAL_FAILURE(node1->start(join(), ""));
  EXPECT_TRUE(node_becomes("node1", "ready", std::chrono::seconds(10))) << nodes()["node1"].dump();
}

TEST_F(cluster, when_the_leader_dies_nodes_reconnect_to_the_new_leader_and_run_its_tasks) {
  // A standby on the same database, with a node port of its own (open only once it leads).
  auto standby_port = free_port();
  server_process standby{db_.url(), work_.path + "/standby", image_,
                         "AETHERIUM_NODE_LISTEN=127.0.0.1:" + std::to_string(standby_port)
                           + " AETHERIUM_PLACEMENT=spread AETHERIUM_NODE_TIMEOUT=5 AETHERIUM_MAX_TASKS=1"};
  ASSERT_NO_FATAL_FAILURE(standby.start());
  // A node that knows both control planes.
  node_process both{"node4", work_.path + "/node4", image_};
  ASSERT_NO_FATAL_FAILURE(both.start(join() + ",127.0.0.1:" + std::to_string(standby_port), token_));
  ASSERT_TRUE(node_becomes("node4", "ready", std::chrono::seconds(10)));

  server_->kill(SIGKILL);
  http::api_client api{http::client_options{standby.base_url(), standby.admin_key("acme")}};
  auto deadline = steady_clock::now() + std::chrono::seconds(30);
  std::string status;
  while (steady_clock::now() < deadline && status != "ready") {
    if (auto r = api.list_nodes()) {
      auto page = json::parse(*r);
      for (auto& n : page.at("nodes"))
        if (n.value("name", "") == "node4")
          status = n.value("status", "");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto listed = api.list_nodes();
  ASSERT_EQ(status, "ready") << (listed ? *listed : listed.err().detail);
  // Tasks of the new leader run on the reconnected node.
  ASSERT_EQ(api.request("POST", "/v1/nodes/local/drain")->status, 200);
  auto body = json{{"project", project_}, {"agent_type", "script"}, {"prompt", "echo after > after.txt"}}.dump();
  auto created = api.create_task(body);
  ASSERT_TRUE(created.ok()) << (created.ok() ? "" : created.err().detail);
  auto t = wait_for_task(api, json::parse(*created).at("id").get<std::string>(), ended, 60);
  EXPECT_EQ(t.value("status", ""), "completed") << t.dump();
  EXPECT_NE(t.value("node", ""), "local") << t.dump();
}

/// A cluster CA and certificates it signed, made with the openssl CLI in `dir`.
std::string make_certificates(const std::string& dir, const std::vector<std::string>& names) {
  std::string script = "set -e; cd '" + dir + "';"
                       " openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=cluster-ca -days 1 -keyout ca.key -out ca.pem 2>/dev/null;"
                       " openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-ca -days 1 -keyout other.key -out other.pem 2>/dev/null;";
  for (auto& n : names)
    script += " openssl req -newkey rsa:2048 -nodes -subj /CN=" + n + " -keyout " + n + ".key -out " + n + ".csr 2>/dev/null;"
              " openssl x509 -req -in " + n + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out " + n + ".pem 2>/dev/null;";
  // A node whose certificate another CA signed.
  script += " openssl req -newkey rsa:2048 -nodes -subj /CN=stranger -keyout stranger.key -out stranger.csr 2>/dev/null;"
            " openssl x509 -req -in stranger.csr -CA other.pem -CAkey other.key -CAcreateserial -days 1 -out stranger.pem 2>/dev/null;";
  return run_command(script).output;
}

TEST(cluster_tls, nodes_join_over_mutual_tls_and_a_certificate_of_another_ca_is_refused) {
  pg_test_database db;
  temp_dir work;
  auto image = busybox_image();
  auto certs = work.path + "/certs";
  std::filesystem::create_directories(certs);
  make_certificates(certs, {"cp", "node1"});
  ASSERT_TRUE(std::filesystem::exists(certs + "/node1.pem")) << "openssl could not make the test certificates";
  auto node_port = free_port();
  auto tls = [&](const std::string& who, const std::string& ca) {
    return "AETHERIUM_NODE_TLS_CERT=" + certs + "/" + who + ".pem AETHERIUM_NODE_TLS_KEY=" + certs + "/" + who
           + ".key AETHERIUM_NODE_CA=" + certs + "/" + ca + ".pem";
  };
  // Not loopback: certificates are required.
  server_process server{db.url(), work.path + "/data", image,
                        "AETHERIUM_NODE_LISTEN=0.0.0.0:" + std::to_string(node_port) + " " + tls("cp", "ca")};
  ASSERT_NO_FATAL_FAILURE(server.start());
  auto out = server.cli("admin node-token");
  auto at = out.output.find("aetj_");
  ASSERT_NE(at, std::string::npos) << out.output;
  auto token = out.output.substr(at, out.output.find_first_of(" \n", at) - at);
  auto join = "127.0.0.1:" + std::to_string(node_port);
  auto start_node = [&](const std::string& name, const std::string& cert, const std::string& ca) {
    auto dir = work.path + "/" + name;
    std::filesystem::create_directories(dir);
    return run_command("cd '" + dir + "' && " + tls(cert, ca) + " timeout 20 " AETHERIUM_BINARY " node --join " + join
                       + " --token " + token + " --name " + name + " --data-dir '" + dir + "' --image '" + image
                       + "' > node.log 2>&1 & echo started");
  };
  start_node("node1", "node1", "ca");
  start_node("stranger", "stranger", "ca");
  http::api_client api{http::client_options{server.base_url(), server.admin_key("acme")}};
  auto deadline = steady_clock::now() + std::chrono::seconds(30);
  std::set<std::string> names;
  while (steady_clock::now() < deadline && !names.count("node1")) {
    names.clear();
    if (auto r = api.list_nodes()) {
      auto page = json::parse(*r);
      for (auto& n : page.at("nodes"))
        names.insert(n.value("name", ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(names.count("node1")) << run_command("cat '" + work.path + "/node1/node.log'").output;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  if (auto r = api.list_nodes()) {
    EXPECT_EQ(r->find("stranger"), std::string::npos) << *r;
  }
  auto stranger_log = run_command("cat '" + work.path + "/stranger/node.log'").output;
  EXPECT_EQ(stranger_log.find("joined"), std::string::npos) << stranger_log;
  EXPECT_NE(stranger_log.find("control plane not reached"), std::string::npos) << stranger_log;
  // A server listening beyond loopback without certificates does not start.
  auto bare = run_command("AETHERIUM_DATABASE_URL='" + db.url() + "' AETHERIUM_DATA_DIR='" + work.path + "/bare' AETHERIUM_IMAGE='"
                          + image + "' AETHERIUM_LISTEN=127.0.0.1:" + std::to_string(free_port())
                          + " AETHERIUM_NODE_LISTEN=0.0.0.0:" + std::to_string(free_port()) + " timeout 60 " AETHERIUM_BINARY
                          " server 2>&1");
  EXPECT_EQ(bare.exit_code, 2) << bare.output;
  EXPECT_NE(bare.output.find("--node-tls-cert"), std::string::npos) << bare.output;
  run_command("pkill -f 'node --join " + join + "'");
}

TEST_F(cluster, a_removed_node_cannot_come_back_without_a_new_token) {
  auto tokens = server_->cli("admin node-tokens --json");
  ASSERT_EQ(tokens.exit_code, 0) << tokens.output;
  for (auto& t : json::parse(tokens.output.substr(tokens.output.find('['))))
    ASSERT_EQ(server_->cli("admin node-token --revoke " + t.value("id", "")).exit_code, 0);
  auto removed = api_->request("DELETE", "/v1/nodes/node3");
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->status, 200) << removed->body;
  EXPECT_TRUE(node_becomes("node3", "removed", std::chrono::seconds(5)));
  // Its connection is refused at the next heartbeat; the node process ends.
  EXPECT_EQ(nodes_[2]->wait_exit(std::chrono::seconds(30)), 1) << nodes_[2]->log();
  ASSERT_NO_FATAL_FAILURE(nodes_[2]->start(join(), node_token()));
  EXPECT_TRUE(node_becomes("node3", "ready", std::chrono::seconds(10)));
}

} // namespace
