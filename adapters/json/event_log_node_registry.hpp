#pragma once

#include <memory>
#include <string>

#include "events/clock.hpp"
#include "events/event_store.hpp"
#include "events/scheduling/node_registry.hpp"

namespace aetherium {

/// The node registry over the event log: node events in `node-<id>` streams, join tokens
/// in `nodetoken-<id>` streams (codecs: make_json_node_codec, make_json_node_token_codec).
///
/// - writes return once their events are durable (the blocking event_store::append), with
///   the stream's expected version, so two processes never both decide on a stale node.
/// - check_token and check_credential read the one stream they need from the log, so
///   a revocation or removal by another process counts at once.
/// - list and list_tokens answer from an index in memory: the factory fills it from the
///   `node` and `nodetoken` categories before it returns, then a subscription keeps it
///   following the log. Events it cannot read are left out of it.
/// - token secrets come from OpenSSL's RAND_bytes; the log keeps their SHA-256 only.
///
/// `store`, `clock` (token times, expiry) and `ids` (event ids) must not be null.
/// `principal` goes into the metadata of every event written ("cli" for the admin
/// commands; the control plane passes its own).
std::shared_ptr<node_registry> make_event_log_node_registry(std::shared_ptr<event_store> store,
                                                            std::shared_ptr<clock> clock,
                                                            std::shared_ptr<id_generator> ids,
                                                            std::string principal = "cli");

} // namespace aetherium
