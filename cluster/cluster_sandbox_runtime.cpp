#include "cluster/cluster_sandbox_runtime.hpp"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>

#include "cluster/cluster_messages.hpp"
#include "adapters/sandbox/workspace_tree.hpp"

namespace aetherium::cluster {

namespace {

/// How long a call other than exec may take on a node before the node counts as lost.
constexpr std::chrono::seconds call_within{60};

/// Where a remote sandbox's workspace lives on the control plane.
struct remote_box {
  std::string workspace_dir;
  std::uint32_t uid = 65534, gid = 65534;
};

class cluster_runtime : public sandbox_runtime {
public:
  cluster_runtime(caf::actor_system& sys, std::shared_ptr<sandbox_runtime> local, std::string local_node,
                  std::shared_ptr<node_directory> nodes, std::uint64_t max_bytes)
    : sys_(sys), local_(std::move(local)), local_node_(std::move(local_node)), nodes_(std::move(nodes)),
      max_bytes_(max_bytes) {}

  result<sandbox_handle> provision(const sandbox_spec& spec) override {
    auto label = spec.labels.find(node_label);
    if (label == spec.labels.end() || label->second == local_node_)
      return local_->provision(spec);
    if (!spec.gateway_socket.empty())
      return make_error(errc::invalid_argument, "node " + label->second + " has no route to this server's model gateway",
                        "gateway_socket");
    auto reply = call(label->second, provision_atom::value, to_wire(spec));
    if (!reply)
      return reply.err();
    sandbox_handle h{label->second + ":" + reply->text, spec.runtime};
    std::lock_guard<std::mutex> lock(mu_);
    boxes_[h.id] = remote_box{spec.workspace_dir, spec.uid, spec.gid};
    return h;
  }

  result<exit_status> exec(const sandbox_handle& handle, const exec_request& request) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->exec(handle, request);
    auto box = find(handle.id);
    if (!box)
      return make_error(errc::not_found, "no sandbox " + handle.id);
    auto agent = nodes_->find(node);
    if (!agent)
      return lost(node, "it is not connected");
    auto w = to_wire(id, request);
    if (!box->workspace_dir.empty()) {
      auto tree = sandbox::read_tree(box->workspace_dir, max_bytes_);
      if (!tree)
        return tree.err();
      w.push = true;
      w.tree = std::move(*tree);
    }
    caf::scoped_actor self{sys_};
    self->monitor(agent);
    self->send(agent, exec_atom::value, std::move(w), caf::actor{self});
    // The node enforces the deadline; this side waits for it a little longer, then counts
    // the node as lost.
    auto give_up = request.deadline == std::chrono::steady_clock::time_point::max()
                     ? std::chrono::steady_clock::time_point::max()
                     : request.deadline + std::chrono::seconds(30);
    std::optional<result<exit_status>> out;
    while (!out) {
      self->receive(
        [&](output_atom, std::int32_t stream, std::string& text) {
          if (request.on_output)
            request.on_output(stream == 1 ? output_stream::err : output_stream::out, text);
        },
        [&](exited_atom, wire_exit& x) {
          if (x.error.code != 0) {
            out = from_wire(x.error);
            return;
          }
          if (!box->workspace_dir.empty())
            if (auto written = sandbox::replace_tree(box->workspace_dir, x.tree, box->uid, box->gid, max_bytes_);
                !written) {
              out = written.err();
              return;
            }
          out = from_wire(x);
        },
        [&](caf::down_msg& d) {
          if (d.source == agent.address())
            out = lost(node, "its connection ended");
        },
        caf::after(std::chrono::seconds(1)) >> [&] {
          // Lost by heartbeat silence, removed, or reconnected as a new agent meanwhile.
          if (nodes_->find(node) != agent)
            out = lost(node, "it stopped heartbeating");
          else if (std::chrono::steady_clock::now() > give_up)
            out = lost(node, "it did not end the command by its deadline");
        });
    }
    self->demonitor(agent);
    return *out;
  }

  result<void> copy_in(const sandbox_handle& handle, const std::string& path, std::string_view bytes,
                       std::uint32_t mode) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->copy_in(handle, path, bytes, mode);
    auto reply = call(node, copy_in_atom::value, id, path, std::string{bytes}, mode);
    return reply ? result<void>{} : result<void>{reply.err()};
  }

  result<std::string> copy_out(const sandbox_handle& handle, const std::string& path, std::uint64_t max_bytes) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->copy_out(handle, path, max_bytes);
    auto reply = call(node, copy_out_atom::value, id, path, max_bytes);
    if (!reply)
      return reply.err();
    if (reply->text.size() > max_bytes)
      return make_error(errc::invalid_argument, "node " + node + " sent more than was asked for", "path");
    return std::move(reply->text);
  }

  result<void> signal(const sandbox_handle& handle, int sig) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->signal(handle, sig);
    auto reply = call(node, signal_atom::value, id, std::int32_t{sig});
    return reply ? result<void>{} : result<void>{reply.err()};
  }

  result<void> cancel(const sandbox_handle& handle) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->cancel(handle);
    auto reply = call(node, kill_atom::value, id);
    return reply ? result<void>{} : result<void>{reply.err()};
  }

  result<void> destroy(const sandbox_handle& handle) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->destroy(handle);
    auto reply = call(node, destroy_atom::value, id);
    if (!reply && !is_node_lost(reply.err()))
      return reply.err();
    std::lock_guard<std::mutex> lock(mu_);
    boxes_.erase(handle.id);
    return {};
  }

  result<sandbox_stats> stats(const sandbox_handle& handle) override {
    std::string node, id;
    if (!split(handle, node, id))
      return local_->stats(handle);
    auto reply = call(node, stats_atom::value, id);
    if (!reply)
      return reply.err();
    auto& n = reply->numbers;
    if (n.size() != 4)
      return make_error(errc::unavailable, "node " + node + " answered stats wrongly");
    return sandbox_stats{n[0], n[1], static_cast<std::uint32_t>(n[2]), n[3]};
  }

  result<std::vector<sandbox_info>> list() override {
    auto out = local_->list();
    if (!out)
      return out;
    for (auto& [node, agent] : nodes_->all()) {
      auto reply = call(node, list_atom::value);
      if (!reply)
        continue; // a node that is gone destroys its sandboxes when it comes back
      for (auto& s : reply->sandboxes) {
        sandbox_info info;
        info.handle.id = node + ":" + s.id;
        parse_sandbox_runtime_kind(s.runtime, info.handle.runtime);
        info.labels = s.labels;
        info.running = s.running;
        out->push_back(std::move(info));
      }
    }
    return out;
  }

  result<std::size_t> live_count() override {
    auto local = local_->live_count();
    if (!local)
      return local;
    std::lock_guard<std::mutex> lock(mu_);
    return *local + boxes_.size();
  }

private:
  /// Splits a remote handle "<node>:<id>"; false for a local one.
  static bool split(const sandbox_handle& h, std::string& node, std::string& id) {
    auto colon = h.id.find(':');
    if (colon == std::string::npos)
      return false;
    node = h.id.substr(0, colon);
    id = h.id.substr(colon + 1);
    return true;
  }

  std::optional<remote_box> find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = boxes_.find(id);
    if (it == boxes_.end())
      return std::nullopt;
    return it->second;
  }

  static error lost(const std::string& node, const std::string& why) {
    return make_error(errc::unavailable, std::string{node_lost_detail} + "node " + node + " was lost: " + why);
  }

  /// Asks the node's agent and waits for its wire_reply; a node not connected, or not
  /// answering within call_within, counts as lost.
  template <class... Ts>
  result<wire_reply> call(const std::string& node, Ts&&... xs) {
    auto agent = nodes_->find(node);
    if (!agent)
      return lost(node, "it is not connected");
    // Sent, not requested: a request to a node whose connection just died is never
    // answered, while a monitor on it is (at once, when it is gone already).
    caf::scoped_actor self{sys_};
    self->monitor(agent);
    self->send(agent, std::forward<Ts>(xs)...);
    result<wire_reply> out = lost(node, "no answer within " + std::to_string(call_within.count()) + " s");
    self->receive(
      [&](wire_reply& r) {
        if (r.error.code != 0)
          out = from_wire(r.error);
        else
          out = std::move(r);
      },
      [&](caf::down_msg&) { out = lost(node, "its connection ended"); },
      caf::after(call_within) >> [] {});
    self->demonitor(agent);
    return out;
  }

  caf::actor_system& sys_;
  std::shared_ptr<sandbox_runtime> local_;
  std::string local_node_;
  std::shared_ptr<node_directory> nodes_;
  std::uint64_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, remote_box> boxes_;
};

} // namespace

std::shared_ptr<sandbox_runtime> make_cluster_sandbox_runtime(caf::actor_system& sys,
                                                              std::shared_ptr<sandbox_runtime> local,
                                                              std::string local_node,
                                                              std::shared_ptr<node_directory> nodes,
                                                              std::uint64_t max_workspace_bytes) {
  return std::make_shared<cluster_runtime>(sys, std::move(local), std::move(local_node), std::move(nodes),
                                           max_workspace_bytes);
}

} // namespace aetherium::cluster
