#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"

namespace aetherium {

/// The version a writer expects a stream to be at before its append.
struct expected_version {
  static constexpr std::int64_t any_value = -1;
  std::int64_t value = any_value;

  static expected_version any() { return {any_value}; }
  static expected_version no_stream() { return {0}; }
  static expected_version exactly(std::int64_t v) { return {v}; }
};

/// One append: events for one stream, all-or-nothing.
struct append_request {
  stream_id stream;
  expected_version expected;
  std::vector<new_event> events;
};

/// Where an append landed.
struct append_result {
  std::int64_t first_position = 0;
  std::int64_t last_position = 0;
  std::int64_t stream_version = 0; ///< The stream's version after the append.
  bool duplicate = false;          ///< True when the same event ids were already stored.
};

/// Handle to a live subscription; destroying it (or calling stop) ends delivery.
class subscription {
public:
  virtual ~subscription() = default;
  /// Stops delivery and waits until the handler is no longer running. Idempotent.
  virtual void stop() = 0;
};

/// The append-only event log.
///
/// Contract shared by every implementation (tests/contract/event_store_contract.hpp):
/// - append is atomic per request: all its events are stored or none is.
/// - positions are global, start at 1, have no gaps, and the order of positions is the
///   order of commits: a reader that has seen position p has seen every position below p.
/// - each stored event carries prev_hash/hash forming a SHA-256 chain in position order.
/// - methods are thread-safe.
class event_store {
public:
  using append_callback = std::function<void(result<append_result>)>;
  using event_handler = std::function<void(const recorded_event&)>;

  virtual ~event_store() = default;

  /// Appends `request.events` to `request.stream` if its version matches `expected`.
  /// Calls `done` exactly once after the events are durable, either on a store-owned
  /// thread or, for errors found before any I/O, on the calling thread.
  /// Errors: invalid_argument (empty or oversized names, bad JSON, no events),
  /// conflict (version mismatch, or an event id already used elsewhere),
  /// unavailable (the database cannot be reached; nothing was written).
  /// Re-appending the exact same event ids at the same place succeeds with duplicate=true.
  virtual void append_async(append_request request, append_callback done) = 0;

  /// Blocking form of append_async. Never call it from an actor's scheduler thread.
  result<append_result> append(append_request request);

  /// Reads events of one stream with stream_version > after_version, in order.
  /// An unknown stream yields an empty vector, not an error.
  virtual result<std::vector<recorded_event>>
  read_stream(const stream_id& stream, std::int64_t after_version = 0) = 0;

  /// Reads up to max_count committed events with position > after_position, in position
  /// order. Errors: corrupt (a stored row cannot be decoded; the detail names its position).
  virtual result<std::vector<recorded_event>>
  read_all(std::int64_t after_position, std::size_t max_count) = 0;

  /// Reads up to max_count committed events of the streams of `category` (stream ids
  /// "<category>-…") with position > after_position, in position order: how a follower of
  /// one small category (API keys, tenants, subscriptions) catches up without reading the
  /// whole log. The default pages through read_all; stores override it with an indexed
  /// read. Errors: as read_all; invalid_argument for an empty category.
  virtual result<std::vector<recorded_event>> read_category(const std::string& category, std::int64_t after_position,
                                                            std::size_t max_count);

  /// Position of the last committed event (0 for an empty log).
  virtual result<std::int64_t> head_position() = 0;

  /// Delivers every event with position > after_position in order: first the stored ones
  /// (catch-up), then new ones as they commit (live). `handler` runs on a store-owned
  /// thread, one event at a time; it must not block for long.
  virtual std::unique_ptr<subscription>
  subscribe(std::int64_t after_position, event_handler handler) = 0;
};

/// Delivers the events of the streams of `category` to `handler`: the stored ones through
/// read_category on the calling thread, then new ones as they commit (a subscription from
/// the head that drops other streams on its own thread). Errors: as head_position and
/// read_category.
result<std::unique_ptr<subscription>> follow_category(event_store& store, const std::string& category,
                                                      event_store::event_handler handler);

/// An in-memory store for unit tests: same contract, nothing durable.
std::shared_ptr<event_store> make_memory_event_store(std::shared_ptr<class clock> clock);

} // namespace aetherium
