#include "cluster/node_gateway.hpp"

#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>

#include "cluster/cluster_messages.hpp"
#include "actors/scheduling/scheduling_messages.hpp"
#include "events/api/validation.hpp"
#include "events/logger.hpp"
#include "events/sha256.hpp"

namespace aetherium::cluster {

namespace {

using actors::down_atom;
using actors::drain_atom;
using actors::heartbeat_atom;
using actors::node_down_report;
using actors::node_outcome;
using actors::register_atom;
using actors::rescheduled_atom;
using actors::subscribe_atom;
using attached_atom = caf::atom_constant<caf::atom("attached")>;

/// What unauthenticated peers can cost: admissions in flight, and refusals recorded as a
/// bucket of refusal_burst refilled one per refusal_refill. Shared by the gateway (which
/// counts admissions in) and its workers (which count them out and record refusals).
class admission_guard {
public:
  explicit admission_guard(const node_gateway_options& o)
    : max_admits_(std::max<std::size_t>(o.max_admits, 1)), burst_(static_cast<double>(o.refusal_burst)),
      refill_us_(std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(o.refusal_refill).count(), 1)),
      tokens_(burst_) {}

  /// Counts one admission in; false when max_admits are already being checked.
  bool enter() {
    if (in_flight_.fetch_add(1) >= max_admits_) {
      in_flight_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void leave() { in_flight_.fetch_sub(1); }

  /// True when a refusal at `now_us` may be recorded; `unrecorded` is then how many were
  /// only counted since the last recorded one. `first_dropped` is set for the first refusal
  /// dropped after a recorded one (to log the change once).
  bool take_refusal(std::int64_t now_us, std::uint64_t& unrecorded, bool& first_dropped) {
    std::lock_guard<std::mutex> lock{mtx_};
    if (last_us_ != 0 && now_us > last_us_)
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_us - last_us_) / static_cast<double>(refill_us_));
    last_us_ = now_us;
    first_dropped = false;
    if (tokens_ < 1) {
      first_dropped = unrecorded_++ == 0;
      return false;
    }
    tokens_ -= 1;
    unrecorded = unrecorded_;
    unrecorded_ = 0;
    return true;
  }

private:
  const std::size_t max_admits_;
  const double burst_;
  const std::int64_t refill_us_;
  std::atomic<std::size_t> in_flight_{0};
  std::mutex mtx_;
  double tokens_;
  std::int64_t last_us_ = 0;
  std::uint64_t unrecorded_ = 0;
};

struct gateway_state {
  node_gateway_options options;
  std::shared_ptr<admission_guard> guard;
  std::unordered_map<std::string, std::string> credentials; ///< node -> sha256 of its credential
  std::unordered_map<caf::actor_addr, std::string> agents;  ///< connected agent -> node
};

using gateway_actor = caf::stateful_actor<gateway_state>;

/// 32 bytes from the kernel's CSPRNG as hex.
std::string fresh_credential() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0)
      got += static_cast<std::size_t>(n);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

wire_reply refuse(errc code, std::string why, const char* field = "") {
  wire_reply r;
  r.error = to_wire(make_error(code, std::move(why), field));
  return r;
}

result<void> check_registration(const wire_registration& reg) {
  if (reg.version != protocol_version)
    return make_error(errc::invalid_argument,
                      "node speaks protocol " + std::to_string(reg.version) + ", this server " + std::to_string(protocol_version),
                      "version");
  if (!api::valid_id(reg.node))
    return make_error(errc::invalid_argument, "a node name is 1 to 128 of [A-Za-z0-9._-], starting alphanumeric", "name");
  return {};
}

scheduling::node_registration registration_of(const wire_registration& reg, const std::string& address,
                                              const std::string& credential_hash) {
  scheduling::node_registration r;
  r.id = node_id{reg.node};
  r.capacity = {reg.cpu_millis, reg.memory_bytes, reg.sandbox_slots};
  r.runtimes = reg.runtimes;
  r.address = address;
  r.credential_sha256 = credential_hash;
  return r;
}

/// Registers the node in the log and with the scheduler, on the worker's thread. A node
/// still live in the log under another registration (it restarted with new capacity, or
/// reconnected before its loss was noticed) is marked down first.
result<void> register_node(caf::blocking_actor* self, const node_gateway_options& o,
                           const scheduling::node_registration& reg) {
  auto& reg_log = *o.registry;
  auto now = o.time->now_us();
  auto recorded = reg_log.record(reg.id, scheduling::register_node{reg, now});
  if (!recorded && recorded.err().code == errc::conflict) {
    if (auto down = reg_log.record(reg.id, scheduling::mark_node_down{"reconnected", now}); !down)
      return down.err();
    recorded = reg_log.record(reg.id, scheduling::register_node{reg, now});
  }
  if (!recorded)
    return recorded.err();
  result<void> out;
  auto ask = [&](auto... xs) {
    self->request(o.scheduler, std::chrono::seconds(10), xs...)
      .receive([&](node_outcome& n) { out = n ? result<void>{} : result<void>{n.err()}; },
               [&](caf::error& e) { out = make_error(errc::unavailable, caf::to_string(e)); });
  };
  ask(register_atom::value, reg);
  if (!out && out.err().code == errc::conflict) { // the scheduler still holds the old registration
    ask(down_atom::value, reg.id.str(), std::string{"reconnected"});
    if (out)
      ask(register_atom::value, reg);
  }
  // The scheduler, which registers nodes up, follows the log (an operator's drain holds).
  if (out && recorded->status == scheduling::node_status::drained)
    ask(drain_atom::value, reg.id.str());
  return out;
}

/// Records a refusal within the guard's budget; beyond it the refusal is only counted.
void record_refusal(const node_gateway_options& o, admission_guard& guard, const node_id& id, const std::string& why,
                    const std::string& address, const char* what) {
  auto now = o.time->now_us();
  std::uint64_t unrecorded = 0;
  bool first_dropped = false;
  if (!guard.take_refusal(now, unrecorded, first_dropped)) {
    if (first_dropped)
      log(log_level::warn, "node refusals over budget: counted, not recorded, until the budget refills",
          {{"node", id.str()}});
    return;
  }
  auto reason = why;
  if (unrecorded > 0)
    reason += " (" + std::to_string(unrecorded) + " refusals before this one not recorded: over budget)";
  (void)o.registry->record(id, scheduling::refuse_join{reason, address, now});
  log(log_level::warn, what, {{"node", id.str()}, {"reason", reason}});
}

/// join and hello: checks the token or credential, registers, and tells the gateway the
/// node's agent and credential hash once registered. Runs on a worker: the log blocks.
void admit(caf::blocking_actor* self, caf::actor gateway, node_gateway_options o, std::shared_ptr<admission_guard> guard,
           wire_registration reg, std::string secret, caf::actor agent, bool joining, caf::response_promise promise) {
  struct counted_out {
    admission_guard& g;
    ~counted_out() { g.leave(); }
  } out{*guard};
  auto deliver = [&](wire_reply r) { promise.deliver(std::move(r)); };
  if (auto ok = check_registration(reg); !ok)
    return deliver(refuse(ok.err().code, ok.err().detail, ok.err().field.c_str()));
  if (!agent)
    return deliver(refuse(errc::invalid_argument, "no agent handle", "agent"));
  node_id id{reg.node};
  auto address = caf::to_string(agent.node());
  std::string credential;
  if (joining) {
    if (auto token = o.registry->check_token(secret); !token) {
      record_refusal(o, *guard, id, token.err().detail, address, "node join refused");
      return deliver(refuse(errc::unauthorized, "join refused: " + token.err().detail));
    }
    credential = fresh_credential();
  } else if (auto ok = o.registry->check_credential(id, secret); !ok) {
    record_refusal(o, *guard, id, ok.err().detail, address, "node hello refused");
    return deliver(refuse(errc::unauthorized, "hello refused: " + ok.err().detail + "; join again with a token"));
  } else {
    credential = secret;
  }
  auto hash = sha256_hex(credential);
  if (auto ok = register_node(self, o, registration_of(reg, address, hash)); !ok)
    return deliver(refuse(ok.err().code, "registration failed: " + ok.err().detail));
  caf::anon_send(gateway, attached_atom::value, reg.node, agent, hash);
  log(log_level::info, joining ? "node joined" : "node connected",
      {{"node", reg.node}, {"runtimes", std::to_string(reg.runtimes.size())}});
  wire_reply r;
  if (joining)
    r.text = credential;
  deliver(std::move(r));
}

/// Records a node's loss in the log, on a worker.
void record_lost(gateway_actor* self, const std::string& node, const std::string& why) {
  self->spawn<caf::detached>([o = self->state.options, node, why](caf::blocking_actor*) {
    if (auto ok = o.registry->record(node_id{node}, scheduling::mark_node_down{why, o.time->now_us()}); !ok)
      log(log_level::warn, "node loss not recorded", {{"node", node}, {"error", ok.err().detail}});
    log(log_level::warn, "node lost", {{"node", node}, {"reason", why}});
  });
}

void forget(gateway_actor* self, const std::string& node) {
  auto& st = self->state;
  st.credentials.erase(node);
  for (auto it = st.agents.begin(); it != st.agents.end();)
    it = it->second == node ? st.agents.erase(it) : std::next(it);
  st.options.nodes->detach(node, caf::actor_addr{});
}

caf::behavior gateway(gateway_actor* self, node_gateway_options options) {
  self->state.options = std::move(options);
  self->state.guard = std::make_shared<admission_guard>(self->state.options);
  self->send(self->state.options.scheduler, subscribe_atom::value);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.agents.find(msg.source);
    if (it == st.agents.end())
      return;
    auto node = it->second;
    st.agents.erase(it);
    st.credentials.erase(node);
    st.options.nodes->detach(node, msg.source);
    caf::anon_send(st.options.scheduler, down_atom::value, node, std::string{"connection_lost"});
    record_lost(self, node, "connection_lost");
  });
  auto admit_async = [self](wire_registration& reg, std::string& secret, caf::actor& agent,
                            bool joining) -> caf::result<wire_reply> {
    auto& st = self->state;
    if (!st.guard->enter())
      return refuse(errc::unavailable, "the control plane is checking too many joins at once; try again");
    auto promise = self->make_response_promise<wire_reply>();
    self->spawn<caf::detached>(admit, caf::actor_cast<caf::actor>(self), st.options, st.guard, std::move(reg),
                               std::move(secret), std::move(agent), joining, promise);
    return promise;
  };
  return {
    [admit_async](join_atom, wire_registration& reg, std::string& token, caf::actor& agent) {
      return admit_async(reg, token, agent, true);
    },
    [admit_async](hello_atom, wire_registration& reg, std::string& credential, caf::actor& agent) {
      return admit_async(reg, credential, agent, false);
    },
    [self](attached_atom, std::string& node, caf::actor& agent, std::string& hash) {
      auto& st = self->state;
      // A node reconnecting replaces its older connection.
      if (auto old = st.options.nodes->find(node); old && old != agent) {
        st.agents.erase(old.address());
        self->demonitor(old);
      }
      st.credentials[node] = hash;
      st.agents[agent.address()] = node;
      st.options.nodes->attach(node, agent);
      self->monitor(agent);
    },
    [self](beat_atom, std::string& node, std::string& credential) -> caf::result<wire_reply> {
      auto& st = self->state;
      auto it = st.credentials.find(node);
      if (it == st.credentials.end() || sha256_hex(credential) != it->second)
        return refuse(errc::unauthorized, "not connected: say hello again");
      auto promise = self->make_response_promise<wire_reply>();
      self->request(st.options.scheduler, std::chrono::seconds(10), heartbeat_atom::value, node)
        .then([promise](node_outcome& n) mutable {
                promise.deliver(n ? wire_reply{} : refuse(n.err().code, n.err().detail));
              },
              [promise](caf::error& e) mutable { promise.deliver(refuse(errc::unavailable, caf::to_string(e))); });
      return promise;
    },
    [self](leave_atom, std::string& node, std::string& credential, bool gone) -> caf::result<wire_reply> {
      auto& st = self->state;
      auto it = st.credentials.find(node);
      if (it == st.credentials.end() || sha256_hex(credential) != it->second)
        return refuse(errc::unauthorized, "not connected");
      if (gone)
        forget(self, node); // its end is not a loss
      auto promise = self->make_response_promise<wire_reply>();
      self->spawn<caf::detached>([o = st.options, node, gone, promise](caf::blocking_actor* me) mutable {
        // Stopping: it takes nothing new, finishes what it runs, then is down ("stopped").
        node_outcome changed = make_error(errc::unavailable, "no answer");
        if (gone)
          me->request(o.scheduler, std::chrono::seconds(10), down_atom::value, node, std::string{"stopped"})
            .receive([&](node_outcome& n) { changed = std::move(n); }, [](caf::error&) {});
        else
          me->request(o.scheduler, std::chrono::seconds(10), drain_atom::value, node)
            .receive([&](node_outcome& n) { changed = std::move(n); }, [](caf::error&) {});
        scheduling::node_command cmd = scheduling::drain_node{o.time->now_us()};
        if (gone)
          cmd = scheduling::mark_node_down{"stopped", o.time->now_us()};
        auto recorded = o.registry->record(node_id{node}, cmd);
        if (!changed) {
          promise.deliver(refuse(changed.err().code, changed.err().detail));
          return;
        }
        if (!recorded && recorded.err().code != errc::invalid_transition) {
          promise.deliver(refuse(recorded.err().code, recorded.err().detail));
          return;
        }
        log(log_level::info, gone ? "node stopped" : "node stopping", {{"node", node}});
        promise.deliver(wire_reply{});
      });
      return promise;
    },
    [self](rescheduled_atom, const node_down_report& report) {
      // The scheduler lost the node (heartbeat silence, drain to removal, or the down above).
      auto node = report.node.str();
      bool known = self->state.credentials.count(node) > 0;
      forget(self, node);
      if (known)
        record_lost(self, node, report.reason);
    },
  };
}

} // namespace

caf::actor spawn_node_gateway(caf::actor_system& sys, node_gateway_options options) {
  return sys.spawn(gateway, std::move(options));
}

} // namespace aetherium::cluster
