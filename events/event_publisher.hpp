#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/canonical_json.hpp"
#include "events/event.hpp"
#include "events/hash_chain.hpp"
#include "events/result.hpp"

namespace aetherium {

/// Names of the headers every published event carries; values are decimal or plain text.
namespace event_header {
inline constexpr const char* event_id = "event_id";
inline constexpr const char* type = "event_type";
inline constexpr const char* schema_version = "schema_version";
inline constexpr const char* position = "position";
} // namespace event_header

/// Every event topic starts with this: stream "task-42" publishes to "aetherium.task".
inline constexpr std::string_view event_topic_prefix = "aetherium.";

/// One message header.
struct message_header {
  std::string name;
  std::string value;
};

/// A message as it goes on (and comes off) the bus.
struct event_message {
  std::string topic;
  std::string key;
  std::vector<message_header> headers;
  std::string value;

  /// The value of the first header called `name`, or nullptr.
  const std::string* header(std::string_view name) const {
    for (auto& h : headers)
      if (h.name == name)
        return &h.value;
    return nullptr;
  }
};

/// The topic of a stream's events: "aetherium." + stream_category(stream).
/// Errors: invalid_argument when the category is empty, longer than 200 bytes or holds a
/// byte other than [A-Za-z0-9._-] (Kafka's topic alphabet).
inline result<std::string> event_topic(const stream_id& stream) {
  auto category = stream_category(stream);
  if (category.empty() || category.size() > 200)
    return make_error(errc::invalid_argument, "stream category must be 1..200 bytes", "stream_id");
  for (unsigned char c : category) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return make_error(errc::invalid_argument,
                        "stream category may only hold [A-Za-z0-9._-]: " + category, "stream_id");
  }
  return std::string{event_topic_prefix} + category;
}

/// The message value: a JSON object holding every field of the event, keys in bytewise
/// order: event_id, hash, metadata, payload (the canonical payload as is), position,
/// prev_hash, recorded_at_us, schema_version, stream_id, stream_version, type.
inline std::string event_envelope_json(const recorded_event& e) {
  std::string out = "{\"event_id\":";
  append_json_string(out, e.id.str());
  out += ",\"hash\":";
  append_json_string(out, e.hash);
  out += ",\"metadata\":" + metadata_json(e.metadata);
  out += ",\"payload\":" + (e.payload.empty() ? std::string{"{}"} : e.payload);
  out += ",\"position\":" + std::to_string(e.position);
  out += ",\"prev_hash\":";
  append_json_string(out, e.prev_hash);
  out += ",\"recorded_at_us\":" + std::to_string(e.recorded_at_us);
  out += ",\"schema_version\":" + std::to_string(e.schema_version);
  out += ",\"stream_id\":";
  append_json_string(out, e.stream.str());
  out += ",\"stream_version\":" + std::to_string(e.stream_version);
  out += ",\"type\":";
  append_json_string(out, e.type);
  out += '}';
  return out;
}

/// The message for a recorded event: topic event_topic(stream), key = stream id (so all
/// events of a stream share one partition), the four event_header values, and value
/// event_envelope_json(event). Errors: invalid_argument (bad category, empty event id).
inline result<event_message> to_event_message(const recorded_event& event) {
  auto topic = event_topic(event.stream);
  if (!topic)
    return topic.err();
  if (event.id.empty())
    return make_error(errc::invalid_argument, "event id must not be empty", "event_id");
  event_message m;
  m.topic = std::move(*topic);
  m.key = event.stream.str();
  m.headers = {{event_header::event_id, event.id.str()},
               {event_header::type, event.type},
               {event_header::schema_version, std::to_string(event.schema_version)},
               {event_header::position, std::to_string(event.position)}};
  m.value = event_envelope_json(event);
  return m;
}

/// Publishes recorded events to the message bus (Kafka in production) for integrations.
/// The bus is a projection of the event log, never a second write.
///
/// Contract shared by every implementation (tests/contract/event_publisher/):
/// - Routing: an event goes out as to_event_message(event) describes.
/// - Delivery is at least once. `done(ok)` means the bus holds the event durably (on every
///   in-sync replica). `done(error)` means it may or may not be there; publish it again
///   from a new publisher. Duplicates are therefore possible; consumers dedupe by event id.
/// - Order per key: events of one stream appear on the topic in the order publish was
///   called, and their callbacks run in that order. Nothing orders different streams.
/// - Halting: after the first failed delivery (any error other than an unusable event
///   reported by to_event_message) a publisher is halted, and every later publish fails
///   at once with the same errc. This keeps a later event of a stream from landing ahead
///   of an earlier one that failed. The caller (the relay) makes a new publisher and
///   republishes from the first failed event. A broker outage is not a failure: delivery
///   is retried until the broker is back, unless the implementation has a delivery
///   timeout configured.
/// - `done` runs exactly once per publish: before publish returns on the calling thread,
///   or later on a publisher-owned thread. It must be quick, must not call flush, and must
///   not take a lock the publishing thread holds while calling publish.
/// - Errors: invalid_argument (see to_event_message; also too large for the bus),
///   unavailable (the local queue stayed full, or the delivery timed out: back off),
///   forbidden (the bus refused access), internal (the client broke; see the detail).
/// - Thread-safe. Destroying a publisher waits a bounded time for outstanding deliveries
///   and fails the rest with unavailable; every callback has run when the destructor ends.
class event_publisher {
public:
  using delivery_callback = std::function<void(result<void>)>;

  virtual ~event_publisher() = default;

  /// Hands `event` over for delivery; `done` reports the outcome (see the class contract).
  virtual void publish(const recorded_event& event, delivery_callback done) = 0;

  /// Waits until every event published so far has had its callback run. Returns ok then,
  /// or unavailable if `timeout` passes first (outstanding deliveries carry on).
  virtual result<void> flush(std::chrono::milliseconds timeout) = 0;
};

/// An in-memory publisher for unit tests: delivers into a list of messages readable with
/// messages(), and lets a test hold deliveries back or make one fail. Thread-safe.
/// Callbacks run on the thread that publishes (or that calls release()). Like Kafka's
/// default, a message over max_message_bytes fails with invalid_argument.
class memory_event_publisher : public event_publisher {
public:
  static constexpr std::size_t max_message_bytes = 1'000'000;

  void publish(const recorded_event& event, delivery_callback done) override;
  result<void> flush(std::chrono::milliseconds timeout) override;

  /// Messages delivered to `topic` (every topic when empty), in delivery order.
  std::vector<event_message> messages(const std::string& topic = {}) const;
  /// From now on deliveries wait (callbacks not run) until release().
  void hold();
  /// Delivers the held events in order, runs their callbacks here, and stops holding.
  void release();
  /// Makes the next delivery fail with `err` (which halts the publisher, as the contract says).
  void fail_next(error err);
  /// Events handed over whose callback has not run yet.
  std::size_t pending() const;

private:
  struct pending_event {
    event_message message;
    delivery_callback done;
  };
  void deliver(pending_event item, std::unique_lock<std::mutex>& lock);

  mutable std::mutex mtx_;
  std::condition_variable idle_;
  std::vector<event_message> delivered_;
  std::deque<pending_event> held_;
  std::size_t releasing_ = 0; ///< Taken off held_, callback not yet run.
  bool holding_ = false;
  std::optional<error> fail_next_;
  std::optional<error> halted_;
};

/// A fresh in-memory publisher (see memory_event_publisher).
std::shared_ptr<memory_event_publisher> make_memory_event_publisher();

} // namespace aetherium
