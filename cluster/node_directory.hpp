#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

namespace aetherium::cluster {

/// The node agents connected now, by node name: written by the node gateway as nodes
/// join and leave, read by the cluster's sandbox runtime on runners' threads.
class node_directory {
public:
  void attach(const std::string& node, caf::actor agent) {
    std::lock_guard<std::mutex> lock(mu_);
    agents_[node] = std::move(agent);
  }
  /// Forgets `node` if `agent` is still the one attached (a newer connection stays).
  void detach(const std::string& node, const caf::actor_addr& agent) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(node);
    if (it != agents_.end() && (!agent || it->second.address() == agent))
      agents_.erase(it);
  }
  /// The node's agent; an invalid handle when the node is not connected.
  caf::actor find(const std::string& node) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(node);
    return it == agents_.end() ? caf::actor{} : it->second;
  }
  std::vector<std::pair<std::string, caf::actor>> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {agents_.begin(), agents_.end()};
  }

private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, caf::actor> agents_;
};

} // namespace aetherium::cluster
