// The composition root: every port gets its adapter here, and nowhere else.
#include "runtime/server.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <caf/all.hpp>

#include "actors/caf_system_config.hpp"
#include "actors/code_host_loop.hpp"
#include "actors/control_plane.hpp"
#include "actors/domain_actors.hpp"
#include "actors/journal.hpp"
#include "actors/messages.hpp"
#include "actors/metrics_sampler.hpp"
#include "actors/projector.hpp"
#include "actors/relay.hpp"
#include "actors/scheduling/heartbeat.hpp"
#include "actors/scheduling/scheduler_actor.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "actors/scheduling/tenant_quota_feed.hpp"
#include "actors/task_runner.hpp"
#include "adapters/git/git_adapters.hpp"
#include "adapters/github/github_adapters.hpp"
#include "adapters/http/auth/authenticator.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/http/metrics/prometheus_registry.hpp"
#include "adapters/json/event_log_api_key_store.hpp"
#include "adapters/json/json_board_codec.hpp"
#include "adapters/json/json_domain_codec.hpp"
#include "adapters/kafka/kafka_event_consumer.hpp"
#include "adapters/json/event_log_subscription_store.hpp"
#include "adapters/logs/file_task_log.hpp"
#include "adapters/model_gateway/http_gateway.hpp"
#include "adapters/model_gateway/price_config.hpp"
#include "adapters/notify/curl_webhook_sender.hpp"
#include "adapters/secrets/file_subscription_secrets.hpp"
#include "adapters/secrets/file_secret_store.hpp"
#include "adapters/postgres/migrations.hpp"
#include "adapters/postgres/postgres_blob_store.hpp"
#include "adapters/postgres/postgres_event_store.hpp"
#include "adapters/postgres/postgres_projection_snapshot_store.hpp"
#include "adapters/postgres/server_lock.hpp"
#include "adapters/json/event_log_node_registry.hpp"
#include "cluster/cluster_sandbox_runtime.hpp"
#include "cluster/node_gateway.hpp"
#include "events/api/timed_event_store.hpp"
#include "events/logger.hpp"
#include "events/read_model/board_checkpoint.hpp"
#include "events/read_model/task_board.hpp"
#include "events/github/follow_up.hpp"
#include "events/integrations/log_consumer.hpp"
#include "events/notifications/dispatcher.hpp"
#include "runtime/commands.hpp"
#include "runtime/kafka_relay.hpp"
#include "runtime/local_runtimes.hpp"
#include "runtime/node_command.hpp"

namespace aetherium::runtime {

namespace fs = std::filesystem;

namespace {

/// The model gateway: upstreams from --model-upstream / AETHERIUM_MODEL_UPSTREAMS over the
/// public defaults, prices from --model-prices or the built-in list, one socket per agent
/// run under <data>/gateway.
result<std::shared_ptr<models::model_gateway>> make_model_gateway(const config& cfg, const std::string& data) {
  model_gateway::gateway_options options;
  options.socket_dir = data + "/gateway";
  if (auto parsed = model_gateway::parse_upstreams(cfg.model_upstreams, options.upstreams); !parsed)
    return parsed.err();
  if (!cfg.model_prices.empty()) {
    std::ifstream in{cfg.model_prices, std::ios::binary};
    std::stringstream text;
    if (!(text << in.rdbuf()))
      return make_error(errc::invalid_argument, "cannot read " + cfg.model_prices, "model-prices");
    auto prices = model_gateway::parse_price_table(text.str());
    if (!prices)
      return make_error(errc::invalid_argument, cfg.model_prices + ": " + prices.err().detail, "model-prices");
    options.prices = std::move(*prices);
  }
  for (auto& [name, url] : options.upstreams)
    log(log_level::info, "model gateway upstream", {{"provider", name}, {"url", url}});
  return model_gateway::make_http_model_gateway(std::move(options));
}


const node_id local_node{"local"};

/// How often a standby tries the database's server lock: a leader that dies is replaced
/// about this long after PostgreSQL ends its session.
constexpr std::chrono::seconds lock_retry_every{1};

/// The server lock went to another server while this one led: it runs the tasks now, and
/// running them here too would run them twice.
void lost_lock(const std::string& why) {
  log(log_level::error, "stopping at once", {{"reason", why}});
  std::_Exit(exit_failure);
}

result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return make_error(errc::invalid_argument, "listen address must be HOST:PORT, not " + listen, "listen");
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port < 0 || port > 65535 || listen.substr(colon + 1).empty())
    return make_error(errc::invalid_argument, "bad port in " + listen, "listen");
  return std::make_pair(listen.substr(0, colon), static_cast<std::uint16_t>(port));
}

/// --repo-roots split at ':', made absolute (by default <data_dir>/repos, created), with
/// --repo-hosts and --repo-ssh.
repository_policy repository_access(const config& cfg, const std::string& data) {
  repository_policy policy;
  policy.allow_ssh = cfg.repo_ssh == "1" || cfg.repo_ssh == "true";
  policy.remote_hosts.clear();
  for (std::size_t at = 0; at <= cfg.repo_hosts.size();) {
    auto end = std::min(cfg.repo_hosts.find(',', at), cfg.repo_hosts.size());
    if (end > at)
      policy.remote_hosts.push_back(cfg.repo_hosts.substr(at, end - at));
    at = end + 1;
  }
  auto& roots = policy.local_roots;
  std::string list = cfg.repo_roots.empty() ? data + "/repos" : cfg.repo_roots;
  for (std::size_t at = 0; at <= list.size();) {
    auto end = std::min(list.find(':', at), list.size());
    if (end > at)
      roots.push_back(fs::absolute(list.substr(at, end - at)).string());
    at = end + 1;
  }
  if (cfg.repo_roots.empty()) {
    std::error_code ec;
    fs::create_directories(roots.front(), ec);
  }
  return policy;
}

class running_server : public server {
public:
  ~running_server() override { stop(); }

  std::uint16_t port() const override { return http_->port(); }
  std::uint16_t node_port() const override { return node_port_; }

  result<std::string> issue_key(const tenant_id& tenant, api::role role, const std::string& name) override {
    auto key = auth_->create_key(tenant, role, name);
    if (!key)
      return key.err();
    return key->key;
  }

  bool stop() override {
    if (stopped_)
      return true;
    stopped_ = true;
    waiter_.reset(); // a promotion under way finishes first
    if (http_)
      http_->stop();
    if (notifier_)
      notifier_->stop();
    bool drained = true;
    if (sys_ && dispatcher_) {
      caf::scoped_actor me{*sys_};
      me->request(dispatcher_, std::chrono::seconds(8), actors::stop_atom::value)
        .receive([](bool) {}, [&](caf::error&) { drained = false; });
    }
    if (code_host_consumer_)
      code_host_consumer_->stop(); // waits for a push under way: what it started, it records
    if (sys_ && board_ && leading_->load()) {
      // Everything is recorded now: a checkpoint at the head makes the next start replay nothing.
      caf::scoped_actor me{*sys_};
      me->request(board_, std::chrono::seconds(5), actors::checkpoint_atom::value)
        .receive([](bool) {}, [](caf::error& e) {
          log(log_level::warn, "no read-model checkpoint at stop", {{"reason", caf::to_string(e)}});
        });
    }
    if (sys_) {
      for (auto& a : {sampler_, heartbeat_, node_gateway_, relay_, dispatcher_, board_, tasks_, projects_, tenant_quotas_, scheduler_,
                     journal_})
        if (a)
          caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
    return drained;
  }

  result<void> start(const config& cfg);

private:
  result<void> claim(const config& cfg);
  result<void> start_leading(const config& cfg);
  void wait_to_lead(const config& cfg);
  void set_leader(const std::string& leader);
  http::server_role role();
  result<void> open_ports(const config& cfg);
  result<void> start_actors(const config& cfg);
  result<void> prepare_cluster(const config& cfg);
  result<void> start_cluster(const config& cfg, const scheduling::node_registration& local);
  std::unique_ptr<read_model::task_board> load_board();
  actors::checkpoint_policy checkpoints(const config& cfg);
  result<void> catch_up();
  result<void> start_integrations(const config& cfg);
  result<void> start_notifications(const config& cfg);
  result<void> start_http(const config& cfg);
  std::shared_ptr<api::webhook_sink> webhooks(const config& cfg);

  std::unique_ptr<postgres::server_lock> lock_; ///< First, so released last: no task runs without it.
  std::unique_ptr<postgres::server_lock_waiter> waiter_; ///< A standby's wait for the lock.
  std::string holder_; ///< This server's name at the lock.
  /// Whether this server leads: from claim when it took the lock at start (it serves nothing
  /// before start_leading has run, and its replay saves checkpoints), from the end of
  /// start_leading when a standby took the lock over.
  std::shared_ptr<std::atomic<bool>> leading_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex leader_mtx_;
  std::string leader_; ///< Who leads, while this server is a standby.
  std::chrono::steady_clock::time_point standby_since_; ///< When this server found the lock taken.
  std::shared_ptr<clock> time_ = make_system_clock();
  std::shared_ptr<id_generator> ids_ = make_random_id_generator();
  std::shared_ptr<event_store> store_;
  std::shared_ptr<projection_snapshot_store> snapshots_;
  std::shared_ptr<const read_model::board_state_codec> board_codec_ = make_json_board_codec();
  std::shared_ptr<blob_store> blobs_;
  std::shared_ptr<sandbox_runtime> sandboxes_;
  std::shared_ptr<code_host> code_host_;
  std::shared_ptr<github::pull_request_comments> comments_;
  std::unique_ptr<event_consumer> code_host_consumer_; ///< The code-host loop's feed.
  std::shared_ptr<std::atomic<std::int64_t>> code_host_position_ = std::make_shared<std::atomic<std::int64_t>>(0);
  repository_policy repos_; ///< Which repositories tasks may use.
  std::vector<std::string> runtimes_; ///< What the local node offers: the runtimes that started.
  std::string image_;                 ///< The sandbox root filesystem.
  std::shared_ptr<task_log> logs_;
  std::shared_ptr<http::authenticator> auth_;
  std::shared_ptr<actors::task_control_plane> control_;
  actors::system_config caf_cfg_;
  std::uint32_t node_timeout_ = 10;           ///< Seconds of heartbeat silence before a node is lost.
  std::shared_ptr<node_registry> nodes_;      ///< Nodes and join tokens in the log.
  caf::actor node_gateway_;                   ///< Where other nodes connect; invalid without --node-listen.
  std::shared_ptr<cluster::node_directory> node_directory_ = std::make_shared<cluster::node_directory>();
  std::uint16_t node_port_ = 0;
  std::unique_ptr<caf::actor_system> sys_;
  caf::actor journal_, tasks_, projects_, board_, scheduler_, tenant_quotas_, dispatcher_, relay_, heartbeat_, sampler_;
  std::shared_ptr<actors::projection_reader> board_reader_;
  std::shared_ptr<api::metrics_registry> metrics_;
  api::core_metrics core_metrics_;
  std::shared_ptr<api::gauge_metric> leader_gauge_;
  std::shared_ptr<notifications::subscription_service> subscriptions_;
  std::unique_ptr<notifications::notification_dispatcher> notifier_;
  std::unique_ptr<http::http_server> http_;
  bool stopped_ = false;
};

/// Fails at once on a busy port, then tries the database's server lock: only its holder, the
/// leader, runs tasks against a database, and no other server may reconcile (reap, fail)
/// the leader's live tasks. Found taken, this server is a standby: it serves reads and
/// waits for the lock (wait_to_lead). Both before anything else starts.
result<void> running_server::claim(const config& cfg) {
  if (cfg.database_url.empty())
    return make_error(errc::invalid_argument, "no database: set --database-url or AETHERIUM_DATABASE_URL", "database-url");
  auto where = split_listen(cfg.listen);
  if (!where)
    return where.err();
  if (auto free = http::check_can_listen(where->first, where->second); !free)
    return free.err();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  holder_ = std::string{host} + " pid " + std::to_string(::getpid()) + " " + cfg.listen;
  auto lock = postgres::take_server_lock(cfg.database_url, holder_, lost_lock);
  if (lock) {
    lock_ = std::move(*lock);
    leading_->store(true);
    return {};
  }
  if (lock.err().code != errc::conflict)
    return lock.err();
  auto leader = postgres::server_lock_holder(cfg.database_url);
  set_leader(leader ? *leader : std::string{});
  standby_since_ = std::chrono::steady_clock::now();
  log(log_level::info, "standby", {{"leader", leader ? *leader : std::string{}}});
  return {};
}

void running_server::set_leader(const std::string& leader) {
  std::lock_guard<std::mutex> guard{leader_mtx_};
  leader_ = leader;
}

http::server_role running_server::role() {
  if (leading_->load())
    return {};
  std::lock_guard<std::mutex> guard{leader_mtx_};
  return {false, leader_};
}

result<void> running_server::open_ports(const config& cfg) {
  if (auto m = postgres::migrate_up(cfg.database_url); !m)
    return m.err();
  auto store = make_postgres_event_store(cfg.database_url);
  if (!store)
    return store.err();
  metrics_ = http::make_prometheus_registry();
  core_metrics_ = api::register_core_metrics(*metrics_);
  leader_gauge_ = metrics_->get_gauge("aetherium_leader", "1 while this server leads (takes writes, runs tasks); 0 on a standby.");
  store_ = api::observe_appends(*store, core_metrics_.append_seconds, core_metrics_.append_unavailable);
  auto snapshots = make_postgres_projection_snapshot_store(cfg.database_url);
  if (!snapshots)
    return snapshots.err();
  snapshots_ = *snapshots;
  auto blobs = make_postgres_blob_store(cfg.database_url);
  if (!blobs)
    return blobs.err();
  blobs_ = *blobs;
  auto data = fs::absolute(cfg.data_dir).string();
  repos_ = repository_access(cfg, data);
  auto local = open_local_runtimes(cfg, data);
  if (!local)
    return local.err();
  sandboxes_ = local->sandboxes;
  runtimes_ = local->offered;
  image_ = local->image;
  if (cfg.github_token.empty()) {
    code_host_ = make_local_git_code_host(repos_);
    comments_ = local_git_comments(code_host_);
  } else {
    github_options gh;
    gh.token = cfg.github_token;
    gh.api_base = cfg.github_api;
    code_host_ = make_github_code_host(gh);
    comments_ = make_github_pull_request_comments(gh);
  }
  logs_ = make_file_task_log(data + "/logs");
  http::auth_options auth;
  auth.jwt_secret = cfg.jwt_secret;
  auth_ = http::make_authenticator(auth, make_event_log_api_key_store(store_, time_, ids_), time_, ids_);
  return {};
}

/// Checks the settings of many hosts and, with --node-listen, readies CAF's network layer
/// (TLS) before the actor system is made.
result<void> running_server::prepare_cluster(const config& cfg) {
  scheduling::strategy strategy;
  if (!scheduling::parse_strategy(cfg.placement, strategy))
    return make_error(errc::invalid_argument, "--placement must be bin_pack, spread or best_fit, not " + cfg.placement,
                      "placement");
  auto timeout = std::atoi(cfg.node_timeout.c_str());
  if (timeout < 1 || timeout > 3600 || cfg.node_timeout.find_first_not_of("0123456789") != std::string::npos)
    return make_error(errc::invalid_argument, "--node-timeout must be 1 to 3600 seconds", "node-timeout");
  node_timeout_ = static_cast<std::uint32_t>(timeout);
  nodes_ = make_event_log_node_registry(store_, time_, ids_, "control-plane");
  if (cfg.node_listen.empty())
    return {};
  node_tls tls{cfg.node_tls_cert, cfg.node_tls_key, cfg.node_ca};
  if (tls.cert.empty() && !loopback_only(cfg.node_listen))
    return make_error(errc::invalid_argument,
                      "--node-listen " + cfg.node_listen + " is reachable from other hosts: give it --node-tls-cert, "
                      "--node-tls-key and --node-ca (see docs/operations.md)", "node-listen");
  return prepare_node_network(caf_cfg_, tls, node_timeout_);
}

/// Records the embedded node in the log and, with --node-listen, lets other nodes join:
/// sandboxes placed on them run there through the node gateway. The leader's only: a
/// standby has no node port open, so nodes given several addresses find the leader.
result<void> running_server::start_cluster(const config& cfg, const scheduling::node_registration& in_process) {
  // The log keeps no address for the in-process node, so a restart on another port with the
  // same capacity records nothing.
  auto local = in_process;
  local.address.clear();
  auto recorded = nodes_->record(local.id, scheduling::register_node{local, time_->now_us()});
  if (!recorded) {
    if (recorded.err().code != errc::conflict)
      return recorded.err();
    // It ran with other capacity before: the old registration ends, this one begins.
    (void)nodes_->record(local.id, scheduling::mark_node_down{"restarted", time_->now_us()});
    recorded = nodes_->record(local.id, scheduling::register_node{local, time_->now_us()});
    if (!recorded)
      return recorded.err();
  }
  // The scheduler, which registers nodes up, follows the log (an operator's drain holds).
  if (recorded->status == scheduling::node_status::drained)
    caf::anon_send(scheduler_, actors::drain_atom::value, local.id.str());
  if (cfg.node_listen.empty())
    return {};
  node_gateway_ = cluster::spawn_node_gateway(*sys_, {nodes_, scheduler_, node_directory_, time_});
  auto port = publish_node_gateway(node_gateway_, cfg.node_listen);
  if (!port)
    return port.err();
  node_port_ = *port;
  log(log_level::info, "listening for nodes", {{"address", cfg.node_listen.substr(0, cfg.node_listen.rfind(':')) + ":"
                                                               + std::to_string(node_port_)}});
  return {};
}

result<void> running_server::start_actors(const config& cfg) {
  if (auto ok = prepare_cluster(cfg); !ok)
    return ok;
  sys_ = std::make_unique<caf::actor_system>(caf_cfg_);
  auto& sys = *sys_;
  journal_ = actors::spawn_journal(sys, store_);
  tasks_ = actors::spawn_task_registry(sys, journal_, ids_, make_json_task_codec());
  projects_ = actors::spawn_project_registry(sys, journal_, ids_, make_json_project_codec());
  std::tie(board_, board_reader_) = actors::spawn_readable_projector(sys, store_, load_board(), checkpoints(cfg));
  actors::scheduler_options sched;
  sched.clock = time_;
  scheduling::parse_strategy(cfg.placement, sched.strategy); // checked in prepare_cluster
  sched.heartbeat_timeout = std::chrono::seconds(node_timeout_);
  scheduler_ = actors::spawn_scheduler(sys, sched);
  // Sandboxes placed on other nodes run there, through the node gateway start_leading opens.
  if (!cfg.node_listen.empty())
    sandboxes_ = cluster::make_cluster_sandbox_runtime(sys, sandboxes_, local_node.str(), node_directory_);
  auto data = fs::absolute(cfg.data_dir).string();
  actors::execution_ports ports{sandboxes_, make_git_workspace_provider(65534, 65534, repos_), blobs_, logs_, time_,
                                make_file_secret_store(data + "/secrets"), comments_};
  auto gateway = make_model_gateway(cfg, data);
  if (!gateway)
    return gateway.err();
  ports.gateway = *gateway;
  actors::execution_options exec;
  exec.workspace_root = data + "/workspaces";
  exec.rootfs = image_;
  // Made on a standby too, for the control plane's sake, but idle there: only writes (which
  // a standby refuses) and start_leading's reconcile give it tasks.
  dispatcher_ = actors::spawn_task_dispatcher(sys, tasks_, board_, scheduler_, local_node, ports, exec);
  actors::control_plane_parts parts{tasks_, projects_, board_, dispatcher_, scheduler_, logs_, store_, time_, ids_, {}, board_reader_};
  parts.defaults.runtime = cfg.runtime;
  parts.runtimes = runtimes_;
  parts.defaults.active_task_quota = static_cast<std::size_t>(std::max(0, std::atoi(cfg.tenant_max_tasks.c_str())));
  parts.nodes = nodes_;
  control_ = actors::make_actor_control_plane(sys, parts);
  return {};
}

/// Starts everything that writes or runs tasks, once this server holds the server lock (at
/// start, or on a standby that took it over): reaps the sandboxes a previous process left
/// here, offers the local node, starts the tenant quota feed, the Kafka relay and the
/// metrics sampler, reconciles (replay to the head, then the dispatcher's tick resumes or
/// fails what the previous leader left), starts the code-host loop and the notification
/// dispatcher; then this server takes writes.
result<void> running_server::start_leading(const config& cfg) {
  auto& sys = *sys_;
  if (auto orphans = sandboxes_->list())
    for (const auto& orphan : *orphans)
      (void)sandboxes_->destroy(orphan.handle);
  // Agents mostly wait on their model's API: CPU is overcommitted by the slot count, so the
  // slots (--max-tasks), not the cores, bound how many sandboxes run here at once.
  auto slots = static_cast<std::uint32_t>(std::max(1, std::atoi(cfg.max_tasks.c_str())));
  scheduling::node_registration node{local_node,
                                     {static_cast<std::uint32_t>(std::thread::hardware_concurrency() * 1000 * slots),
                                      host_memory_bytes(), slots},
                                     runtimes_,
                                     cfg.listen};
  caf::anon_send(scheduler_, actors::register_atom::value, node);
  if (auto ok = start_cluster(cfg, node); !ok)
    return ok;
  // Three beats per timeout, so one late beat never loses the node.
  heartbeat_ = actors::spawn_heartbeat(sys, scheduler_, local_node, std::chrono::milliseconds(node_timeout_ * 1000 / 3));
  tenant_quotas_ = actors::spawn_tenant_quota_feed(sys, store_, make_json_tenant_codec(), scheduler_);
  if (!cfg.kafka_brokers.empty()) {
    auto relay = spawn_kafka_relay(sys, store_, cfg);
    if (!relay)
      return relay.err();
    relay_ = *relay;
  }
  actors::sampled_parts sampled{control_, store_, sandboxes_, core_metrics_, {}};
  auto lag = metrics_->get_gauge("aetherium_consumer_lag_events",
                                 "Committed events after the last one a consumer of the log handled.",
                                 {{"consumer", "code-host"}});
  sampled.probes.push_back([lag, store = store_, at = code_host_position_] {
    if (auto head = store->head_position())
      lag->set(static_cast<double>(std::max<std::int64_t>(0, *head - at->load())));
  });
  sampler_ = actors::spawn_metrics_sampler(sys, std::move(sampled), relay_);
  if (auto ok = catch_up(); !ok)
    return ok;
  caf::anon_send(dispatcher_, actors::tick_atom::value);
  if (auto ok = start_integrations(cfg); !ok)
    return ok;
  notifier_->start();
  leading_->store(true);
  leader_gauge_->set(1);
  auto waited = standby_since_ == std::chrono::steady_clock::time_point{}
                  ? std::chrono::milliseconds{0}
                  : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - standby_since_);
  log(log_level::info, "leading", {{"waited_ms", std::to_string(waited.count())}, {"holder", holder_}});
  return {};
}

/// A standby's wait: tries the server lock every lock_retry_every; once it has it, starts
/// the write side here. A write side that does not start ends the process: it holds the
/// lock, and another server must be able to take over.
void running_server::wait_to_lead(const config& cfg) {
  waiter_ = postgres::wait_for_server_lock(
    cfg.database_url, holder_, lock_retry_every, [this](const std::string& leader) { set_leader(leader); },
    [this, cfg](std::unique_ptr<postgres::server_lock> lock) {
      lock_ = std::move(lock);
      if (auto ok = start_leading(cfg); !ok) {
        log(log_level::error, "stopping at once", {{"reason", "the write side did not start: " + ok.err().detail}});
        std::_Exit(exit_failure);
      }
    },
    lost_lock);
}

/// The code-host loop, fed by the log itself (embedded) or, with --kafka-brokers, by the
/// consumer group "aetherium-code-host" on the task topic (instances share the work).
result<void> running_server::start_integrations(const config& cfg) {
  auto data = fs::absolute(cfg.data_dir).string();
  actors::code_host_loop_ports ports{store_, make_json_task_codec(), blobs_,
                                     make_git_workspace_provider(65534, 65534, repos_), code_host_, comments_, logs_,
                                     time_};
  auto loop = std::make_shared<actors::code_host_loop>(ports, actors::code_host_loop_options{data + "/publish"});
  auto handled = metrics_->get_counter("aetherium_consumer_events_total", "Events a consumer of the log handled.",
                                       {{"consumer", "code-host"}});
  auto at = code_host_position_;
  consumed_event_handler handler = [loop, handled, at](const consumed_event& c) {
    auto done = loop->handle(c.event);
    if (done) {
      handled->inc();
      if (c.event.position > at->load())
        at->store(c.event.position);
    }
    return done;
  };
  if (cfg.kafka_brokers.empty()) {
    auto checkpoints = make_postgres_checkpoint_store(cfg.database_url);
    if (!checkpoints)
      return checkpoints.err();
    auto consumer = make_log_consumer(store_, *checkpoints, {"code-host"}, handler);
    if (!consumer)
      return consumer.err();
    at->store((*consumer)->position());
    code_host_consumer_ = std::move(*consumer);
    return {};
  }
  kafka_event_consumer_options o;
  o.group_id = "aetherium-code-host";
  o.topics = {"^aetherium\\.task$"};
  o.client_id = "aetherium-code-host";
  // A code host that is down for a while must not dead-letter a task's publication.
  o.max_attempts = 60;
  o.max_retry_backoff = std::chrono::seconds(30);
  auto consumer = make_kafka_event_consumer(cfg.kafka_brokers, o, handler);
  if (!consumer)
    return consumer.err();
  if (auto head = store_->head_position())
    at->store(*head); // lag counts from the start: older events are the group's to have handled
  code_host_consumer_ = std::move(*consumer);
  return {};
}

/// The board from its latest checkpoint, or empty (to rebuild from position 0) when there is
/// none or it cannot be used: a bad checkpoint never stops a start.
std::unique_ptr<read_model::task_board> running_server::load_board() {
  auto board = std::make_unique<read_model::task_board>(make_json_task_codec(), make_json_project_codec(),
                                                        make_json_tenant_codec());
  auto loaded = read_model::load_checkpoint(*snapshots_, *board_codec_, *board);
  log(loaded.fallback ? log_level::warn : log_level::info, "read model start",
      {{"position", std::to_string(loaded.position)}, {"detail", loaded.note}});
  metrics_
    ->get_gauge(api::metric_names::read_model_start_position,
                "Log position the read model started from at the last start (0: rebuilt from the start)")
    ->set(static_cast<double>(loaded.position));
  return board;
}

/// Checkpoints of the board: every --checkpoint-every events and every 30 s, saved by a job
/// off the scheduler (the projector only copies the state).
actors::checkpoint_policy running_server::checkpoints(const config& cfg) {
  actors::checkpoint_policy policy;
  policy.every_events = static_cast<std::size_t>(std::max(0, std::atoi(cfg.checkpoint_every.c_str())));
  policy.every = std::chrono::seconds(30);
  auto saved = metrics_->get_gauge(api::metric_names::read_model_checkpoint_position,
                                   "Log position of the read model's last saved checkpoint");
  auto snapshots = snapshots_;
  auto codec = board_codec_;
  policy.capture = [snapshots, codec, saved, leading = leading_](const projection& p) -> std::function<void()> {
    if (!leading->load())
      return [] {}; // the leader's checkpoints are the ones kept
    auto copy = std::make_shared<read_model::board_capture>(read_model::capture(static_cast<const read_model::task_board&>(p)));
    return [snapshots, codec, saved, copy] {
      if (auto ok = read_model::save_checkpoint(*snapshots, *codec, *copy); !ok)
        log(log_level::warn, "read-model checkpoint not saved",
            {{"position", std::to_string(copy->position)}, {"reason", ok.err().detail}});
      else
        saved->set(static_cast<double>(copy->position));
    };
  };
  return policy;
}

/// Waits until the read model has replayed the log up to its head.
result<void> running_server::catch_up() {
  auto head = store_->head_position();
  if (!head)
    return head.err();
  caf::scoped_actor self{*sys_};
  result<void> out;
  self->request(board_, std::chrono::minutes(10), actors::get_atom::value, *head)
    .receive([](std::int64_t) {},
             [&](caf::error& e) { out = make_error(errc::unavailable, "replay did not finish: " + caf::to_string(e)); });
  return out;
}

std::shared_ptr<api::webhook_sink> running_server::webhooks(const config& cfg) {
  if (cfg.github_webhook_secret.empty())
    return nullptr;
  github_webhook_options o;
  o.secret = cfg.github_webhook_secret;
  auto control = control_;
  o.on_follow_up = [control](github::follow_up f, std::function<void(result<void>)> done) {
    auto parent = [control](const std::string& repo, std::int64_t number, api::reply<api::task_view> found) {
      control->find_by_pull_request(repo, number, std::move(found));
    };
    github::follow_up_on_comment(control, parent, std::move(f), std::move(done));
  };
  o.log = [](const std::string& id, const std::string& message) {
    log(log_level::info, "webhook", {{"delivery", id}, {"correlation_id", id}, {"detail", message}});
  };
  return make_github_webhook_sink(o);
}

/// A whole number in [min, max] from the setting `flag`. Errors: invalid_argument naming it.
result<std::uint32_t> bounded_setting(const std::string& value, const char* flag, std::uint32_t min, std::uint32_t max) {
  if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos
      || std::stoul(value) < min || std::stoul(value) > max)
    return make_error(errc::invalid_argument,
                      std::string{"--"} + flag + " must be a number from " + std::to_string(min) + " to " + std::to_string(max),
                      flag);
  return static_cast<std::uint32_t>(std::stoul(value));
}

/// Webhook subscriptions: the service behind /v1/subscriptions and the dispatcher that
/// delivers, with its checkpoints in the database (started by start_leading).
result<void> running_server::start_notifications(const config& cfg) {
  notifications::dispatcher_options o;
  auto attempts = bounded_setting(cfg.notify_max_attempts, "notify-max-attempts", 1, 100);
  auto first = bounded_setting(cfg.notify_retry_delay_ms, "notify-retry-delay-ms", 1, 3600000);
  auto most = bounded_setting(cfg.notify_retry_max_delay_ms, "notify-retry-max-delay-ms", 1, 86400000);
  for (auto* r : {&attempts, &first, &most})
    if (!*r)
      return r->err();
  o.retry.max_attempts = *attempts;
  o.retry.first_delay = std::chrono::milliseconds(*first);
  o.retry.max_delay = std::chrono::milliseconds(std::max(*first, *most));
  curl_webhook_options sending;
  sending.allow_private = cfg.notify_allow_loopback == "1" || cfg.notify_allow_loopback == "true";
  auto sender = make_curl_webhook_sender(sending);
  auto checkpoints = make_postgres_checkpoint_store(cfg.database_url);
  if (!checkpoints)
    return checkpoints.err();
  auto secrets = make_file_subscription_secrets(fs::absolute(cfg.data_dir).string() + "/notify-secrets");
  auto store = make_event_log_subscription_store(store_, ids_);
  subscriptions_ = std::make_shared<notifications::subscription_service>(store, secrets, sender, time_, ids_);
  notifier_ = std::make_unique<notifications::notification_dispatcher>(
    notifications::dispatcher_ports{store_, *checkpoints, store, secrets, sender, subscriptions_, metrics_}, o);
  return {};
}

result<void> running_server::start_http(const config& cfg) {
  auto where = split_listen(cfg.listen);
  if (!where)
    return where.err();
  http::http_server_options o;
  o.host = where->first;
  o.port = where->second;
  o.time = time_;
  o.check_repository = make_repository_check(repos_);
  o.subscriptions = subscriptions_;
  o.role = [this] { return role(); };
  o.rate_per_second = std::atof(cfg.rate_limit.c_str());
  o.rate_burst = std::atof(cfg.rate_burst.c_str());
  if (!(o.rate_per_second > 0) || !(o.rate_burst >= 1))
    return make_error(errc::invalid_argument, "--rate-limit must be > 0 and --rate-burst >= 1", "rate-limit");
  http_ = http::make_http_server(o, control_, auth_, metrics_, webhooks(cfg));
  return http_->start();
}

result<void> running_server::start(const config& cfg) {
  for (auto step : {&running_server::claim, &running_server::open_ports, &running_server::start_actors})
    if (auto ok = (this->*step)(cfg); !ok)
      return ok;
  if (auto ok = catch_up(); !ok)
    return ok;
  if (auto ok = start_notifications(cfg); !ok)
    return ok;
  if (lock_)
    if (auto ok = start_leading(cfg); !ok)
      return ok;
  if (auto ok = start_http(cfg); !ok)
    return ok;
  if (!lock_)
    wait_to_lead(cfg);
  return {};
}

volatile std::sig_atomic_t stop_signal = 0;

} // namespace

result<std::unique_ptr<server>> start_server(const config& cfg) {
  auto s = std::make_unique<running_server>();
  if (auto ok = s->start(cfg); !ok)
    return ok.err();
  return std::unique_ptr<server>{std::move(s)};
}

int run_server(const command_line&, const config& cfg) {
  auto s = start_server(cfg);
  if (!s) {
    std::cerr << "aetherium: " << to_string(s.err().code) << ": " << s.err().detail << "\n";
    return s.err().code == errc::invalid_argument ? exit_usage : exit_failure;
  }
  std::cout << "aetherium server listening on " << cfg.listen.substr(0, cfg.listen.rfind(':')) << ":"
            << (*s)->port() << std::endl;
  if (auto np = (*s)->node_port())
    std::cout << "aetherium server listening for nodes on " << cfg.node_listen.substr(0, cfg.node_listen.rfind(':'))
              << ":" << np << std::endl;
  std::signal(SIGINT, [](int sig) { stop_signal = sig; });
  std::signal(SIGTERM, [](int sig) { stop_signal = sig; });
  while (!stop_signal)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "aetherium server stopping" << std::endl;
  if ((*s)->stop()) {
    // Everything is recorded: let the actors end and the sandbox adapter destroy its warm
    // pool, but never take more than 2 s more over it.
    std::thread{[] {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      log(log_level::warn, "the actors did not stop within 2 s; exiting anyway");
      std::_Exit(exit_ok);
    }}.detach();
    s->reset();
    std::cout << "aetherium server stopped" << std::endl;
  } else {
    log(log_level::warn, "tasks still busy after 8 s; the next start reconciles them");
  }
  std::_Exit(exit_ok);
}

} // namespace aetherium::runtime
