#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"
#include "events/scheduling/node.hpp"
#include "events/scheduling/node_token.hpp"

namespace aetherium {

/// A join token as issued: `text` is shown once and never stored.
struct issued_node_token {
  std::string id;
  std::string text;
};

/// One node as the log knows it: registered at some point, or only refused.
struct node_record {
  scheduling::node_state state; ///< state.exists is false for a name that was only refused.
  std::int64_t last_event_us = 0; ///< at_us of the newest event of its stream.
  std::uint64_t refusals = 0;     ///< Joins refused under its name, ever.
  node_id id;                     ///< The stream's node, also for a name that never registered.
};

/// Nodes and their join tokens, kept as events in the log (streams `node-<id>` and
/// `nodetoken-<id>`): what the transport consults when a node process joins and what it
/// records afterwards. Every method is thread-safe and may block on the log: never call
/// one from an actor's scheduler thread.
class node_registry {
public:
  virtual ~node_registry() = default;

  /// Issues a token valid for `ttl_seconds` (0: until revoked) with `note` (at most 256
  /// bytes). Errors: invalid_argument (field "ttl" or "note"), unavailable (no randomness,
  /// or the log).
  virtual result<issued_node_token> issue_token(std::string note, std::int64_t ttl_seconds) = 0;

  /// Revokes a token; revoking twice is fine. Errors: not_found (no such token),
  /// unavailable.
  virtual result<void> revoke_token(const std::string& token_id) = 0;

  /// Every token issued: its id and whether it is revoked, oldest first.
  virtual result<std::vector<std::pair<std::string, bool>>> list_tokens() = 0;

  /// Every token issued, with note, issue and expiry times, oldest first. The default
  /// builds them from list_tokens (ids and revocation only).
  virtual result<std::vector<scheduling::node_token_state>> token_states();

  /// Checks a join token's text against the log as it is now (a token revoked a moment
  /// ago by another process is refused). Returns the token's id. Errors: unauthorized for
  /// a malformed, unknown, revoked or expired token or a wrong secret (the detail says
  /// which, for the operator's log; never show it to the peer); unavailable (the log).
  virtual result<std::string> check_token(const std::string& text) = 0;

  /// Checks `credential` against the credential hash of the node's newest registration.
  /// Errors: unauthorized (an invalid name, a node that never registered, was removed,
  /// or registered without a credential, a wrong credential); unavailable (the log).
  virtual result<void> check_credential(const node_id& node, const std::string& credential) = 0;

  /// Loads the node's stream, decides `cmd` with scheduling::node::decide and appends its
  /// events with the stream's version, re-reading and deciding again (a few times) when
  /// another writer appended first. Returns the node after it. A command that records
  /// nothing (the same registration again) returns the node as it is.
  /// Errors: invalid_argument (a name that is not a valid id, which records nothing, even
  /// a refusal; a registration for another name; invalid fields), the errors of decide
  /// (not_found, conflict, invalid_transition), conflict (still racing after the retries),
  /// corrupt (an event of the stream cannot be read), unavailable.
  virtual result<scheduling::node_state> record(const node_id& node, const scheduling::node_command& cmd) = 0;

  /// Every node ever seen in the log (registered or refused), by name, from an index in
  /// memory that follows the log (writes of other processes appear shortly after they
  /// commit; this instance's own writes at once).
  virtual std::vector<node_record> list() = 0;
};

inline result<std::vector<scheduling::node_token_state>> node_registry::token_states() {
  auto tokens = list_tokens();
  if (!tokens)
    return tokens.err();
  std::vector<scheduling::node_token_state> out;
  for (auto& [id, revoked] : *tokens) {
    scheduling::node_token_state s;
    s.exists = true;
    s.id = node_token_id{id};
    s.revoked = revoked;
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace aetherium
