#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/result.hpp"

namespace aetherium::models {

/// One model call of an agent, as the gateway saw it.
struct call_record {
  std::string provider; ///< "anthropic", "openai", "gemini".
  std::string model;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cost_microcents = 0; ///< Millionths of a cent.
  bool priced = true; ///< False: no price was configured for the model (cost 0).
  bool read = true;   ///< False: the answer showed no usage that could be read.
};

/// What one agent run may do through the gateway.
struct session_spec {
  std::string task; ///< For names and logs only.
  std::vector<std::string> providers;      ///< The providers the task may call.
  std::map<std::string, std::string> keys; ///< Provider -> the tenant's real API key.
  /// Spend of the task's tree at which calls are refused, in millionths of a cent; 0 = no
  /// budget. With a budget, a call to a model without a price is refused, and an answer
  /// whose usage cannot be read ends the session's budget (it fails closed).
  std::uint64_t budget_microcents = 0;
  std::uint64_t spent_microcents = 0; ///< Spend of the tree before this run.
  /// Records a call, once its answer has been passed on. Called on a gateway thread; an
  /// error makes the gateway refuse further calls (spend it cannot record is not spent).
  std::function<result<void>(const call_record&)> on_call;
  /// Called once, on a gateway thread, when the budget is reached or spend cannot be
  /// known any more: the run should stop.
  std::function<void(const std::string& why)> on_exhausted;
};

/// The gateway of one agent run. Destroying it stops serving and waits for the calls in
/// flight, which are aborted.
class gateway_session {
public:
  virtual ~gateway_session() = default;
  /// The host UNIX socket the sandbox reaches the gateway through (sandbox_spec::gateway_socket).
  virtual const std::string& socket_path() const = 0;
  /// Spend of the tree, this run's calls included.
  virtual std::uint64_t spent_microcents() const = 0;
  /// Why calls are refused now ("" while they are not).
  virtual std::string exhausted() const = 0;
};

/// The model gateway: the sandboxes' only route to model APIs. It checks that the task may
/// use the provider, replaces the placeholder key with the tenant's real one, forwards to
/// the provider, and records each call's usage and cost.
class model_gateway {
public:
  virtual ~model_gateway() = default;
  /// Starts serving one agent run. Errors: invalid_argument (a provider without a key or
  /// unknown), unavailable (the socket cannot be made).
  virtual result<std::unique_ptr<gateway_session>> open(session_spec spec) = 0;
};

/// The environment an agent's command gets for `providers`, given the gateway's base URL
/// inside the sandbox (`$AETHERIUM_MODEL_GATEWAY` is expanded by the sandbox's shell):
/// each provider's base-URL variable points at the gateway, its key variable holds a
/// placeholder that is worthless outside the gateway.
std::vector<std::pair<std::string, std::string>> agent_environment(const std::vector<std::string>& providers);

/// The placeholder key the sandbox sees.
inline constexpr const char* placeholder_key = "aetherium-model-gateway";

} // namespace aetherium::models
